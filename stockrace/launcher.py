"""`make run`: bring the whole stack up on one machine and take it down on Ctrl-C.

Steps: embedded PostgreSQL/Redis when DATABASE_URL/REDIS_URL are unset, migrate, collect
static files, seed the demo, then every process of the Procfile under the supervisor
(stockrace/supervisor.py: one prefixed log stream; a process that exits unexpectedly is started
again with a back-off, and says so). Ctrl-C (or SIGTERM) stops every process, then the embedded
servers; a second Ctrl-C kills what is left at once.
"""
from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def say(message: str) -> None:
    print(f"[stockrace] {message}", flush=True)


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def prepare() -> dict[str, str]:
    from stockrace import embedded

    embedded_urls = embedded.export_urls()
    if embedded_urls:
        os.environ["STOCKRACE_EMBEDDED"] = "1"  # make run asks for the embedded stack explicitly
        for key, value in embedded_urls.items():
            say(f"embedded {key.split('_')[0].lower()}: {value}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockrace.settings")
    import django
    from django.core.management import call_command

    django.setup()
    say("applying migrations...")
    call_command("migrate", interactive=False, verbosity=0)
    say("collecting static files...")
    call_command("collectstatic", interactive=False, verbosity=0)
    say("seeding the demo...")
    call_command("seed_demo")
    return embedded_urls


def banner(url: str) -> None:
    from apps.web.management.commands.seed_demo import DEMO_LOGINS

    lines = [
        "",
        "=" * 64,
        f"  StockRace is running at {url}/",
        f"  Staff admin:   {url}/admin/",
        f"  API docs:      {url}/api/docs/",
        f"  Health:        {url}/healthz",
        "  Demo logins (username / password):",
        f"    staff   {DEMO_LOGINS[0][0]} / {DEMO_LOGINS[0][1]}",
        *[f"    player  {u} / {p}" for u, p in DEMO_LOGINS[1:]],
        "  Press Ctrl-C to stop everything.",
        "=" * 64,
        "",
    ]
    print("\n".join(lines), flush=True)


def announce_when_up(url: str, stop: threading.Event) -> None:
    deadline = time.monotonic() + 120
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                break
        except urllib.error.HTTPError:
            break  # it answers, even if some part is still warming up
        except OSError:
            stop.wait(0.5)
    if not stop.is_set():
        banner(url)


def main() -> int:
    if sys.version_info < (3, 11):
        say("Python 3.11 or newer is needed")
        return 1
    os.chdir(BASE_DIR)
    from stockrace.config import load_dotenv

    load_dotenv(BASE_DIR / ".env")  # HTTP_PORT and HOST of a .env file, as the Procfile's web will see them
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("HTTP_PORT", "8000"))
    if not port_free(host, port):
        say(f"port {port} on {host} is already in use: stop what runs there, or run with HTTP_PORT=8001 make run")
        return 1

    embedded_urls: dict[str, str] = {}
    try:
        embedded_urls = prepare()
    except KeyboardInterrupt:
        _stop_embedded(embedded_urls)
        return 130
    except Exception as exc:
        say(f"could not prepare the stack: {exc}")
        _stop_embedded(embedded_urls)
        return 1

    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    from stockrace.supervisor import Supervisor, read_procfile

    supervisor = Supervisor(read_procfile(BASE_DIR / "Procfile"), env, cwd=BASE_DIR)
    url = f"http://{host}:{port}"
    stop = threading.Event()

    def on_signal(signum, frame):
        if stop.is_set():
            say("second signal: killing every process now")
            supervisor.kill_all()
            return
        say("stopping the stack...")
        stop.set()
        supervisor.stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        supervisor.start_all()
        threading.Thread(target=announce_when_up, args=(url, stop), daemon=True).start()
        supervisor.supervise()  # until a signal sets stopping
    finally:
        stop.set()
        supervisor.stop_all()
        _stop_embedded(embedded_urls)
    say("stopped")
    return 0


def _stop_embedded(embedded_urls: dict[str, str]) -> None:
    """Stop the embedded servers this launcher started. Servers that were already running
    (another checkout's tests, a `manage.py shell` that started them) belong to whoever
    started them: they are left alone, and we say so."""
    from stockrace import embedded

    embedded.stop_all(only_started_here=True)
    used = {{"DATABASE_URL": "postgres", "REDIS_URL": "redis"}[key] for key in embedded_urls}
    kept = used - embedded.started_here
    if kept:
        say(f"left running ({', '.join(sorted(kept))}: already up before make run); `make stop` stops them")


if __name__ == "__main__":
    sys.exit(main())
