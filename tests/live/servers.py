"""Real processes for live-room acceptance tests: daphne servers and race engines on loopback."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)
BIN = Path(sys.executable).parent


def database_url() -> str:
    """The URL of the database the tests use (the test database, not the dev one)."""
    s = connection.settings_dict
    auth = quote(s["USER"]) + (":" + quote(s["PASSWORD"]) if s["PASSWORD"] else "")
    host = s["HOST"] or ""
    if host.startswith("/"):
        return f"postgresql://{auth}@/{s['NAME']}?host={quote(host)}" + (f"&port={s['PORT']}" if s["PORT"] else "")
    return f"postgresql://{auth}@{host}:{s['PORT'] or 5432}/{s['NAME']}"


def child_env(**extra) -> dict:
    env = dict(os.environ, DATABASE_URL=database_url(), REDIS_URL=settings.REDIS_URL, STOCKRACE_TESTING="1",
               DJANGO_SETTINGS_MODULE="stockrace.settings", PYTHONUNBUFFERED="1")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start_daphne(port: int, log_path: Path, **env) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "stockrace.asgi:application"],
                            cwd=BASE_DIR, env=child_env(**env), stdout=log_path.open("wb"), stderr=subprocess.STDOUT)


def start_engine(log_path: Path, **env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "manage.py", "run_race_engine"], cwd=BASE_DIR, env=child_env(**env),
                            stdout=log_path.open("wb"), stderr=subprocess.STDOUT)


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


def stop(*procs: subprocess.Popen) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def raw_ws_connect(port: int, race_id: int, *, rcvbuf: int) -> socket.socket:
    """A raw socket upgraded to a WebSocket on /ws/races/{race_id}/, with a small receive buffer
    (for tests that read slowly or not at all); returns once the server answered 101."""
    import base64

    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /ws/races/{race_id}/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  f"Origin: http://127.0.0.1:{port}\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock
