"""A real stack for the browser tests: daphne (HTTP and WebSockets) and, when asked, the race
engine, as subprocesses on the test database and the test Redis database."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
PORT_RANGE = range(8800, 8900)  # the web helper's ports
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = BASE_DIR / "test-artifacts"


def free_port() -> int:
    for port in PORT_RANGE:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORT_RANGE}")


def database_url() -> str:
    """The test database (pytest-django renamed it) as a URL the subprocesses' settings read."""
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    if db["HOST"].startswith("/"):
        return f"postgresql://{auth}@/{db['NAME']}?host={db['HOST']}"
    return f"postgresql://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def subprocess_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    # STOCKRACE_TESTING: same password hasher, throttles and Redis test database as this process.
    env = {**os.environ, "DATABASE_URL": database_url(), "STOCKRACE_TESTING": "1", "DB_CONN_MAX_AGE": "0",
           **(extra or {})}
    env.pop("PYTEST_CURRENT_TEST", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


class Process:
    """A subprocess whose stderr goes to a log file under test-artifacts/, stopped with SIGTERM."""

    def __init__(self, name: str, args: list[str], env: dict[str, str] | None = None):
        ARTIFACTS.mkdir(exist_ok=True)
        self.log_path = ARTIFACTS / f"{name}.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, cwd=BASE_DIR, env=subprocess_env(env), stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Server(Process):
    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__("daphne", [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
                                    "stockrace.asgi:application"])

    def wait_ready(self, timeout: float = 60) -> None:
        """Until /healthz answers at all (503 is fine: no beat or feed runs in the tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"daphne exited:\n{self.tail()}")
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=5)
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"daphne did not answer on {self.url}:\n{self.tail()}")


def race_engine(**settings_env: str) -> Process:
    """The race engine process; keyword arguments are settings passed through its environment."""
    return Process("race-engine", [sys.executable, "manage.py", "run_race_engine"], env=settings_env)
