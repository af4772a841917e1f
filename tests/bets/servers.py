"""Real ASGI servers (daphne subprocesses) on the test database, and a tiny HTTP client.

The concurrency tests start more than one process and spread their requests over them, so
the transactions race across processes as well as across the threads of one process (each
request has a thread and a pooled connection of its own; the pool is large enough that 200
requests queued on one player's row lock never wait out the pool's timeout).
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
PORT_RANGE = range(8500, 8600)  # this suite's ports (see docs: each helper has its own)


def free_ports(count: int) -> list[int]:
    ports = []
    for port in PORT_RANGE:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == count:
            return ports
    raise RuntimeError(f"not enough free ports in {PORT_RANGE}")


def database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    if db["HOST"].startswith("/"):
        return f"postgresql://{auth}@/{db['NAME']}?host={db['HOST']}"
    return f"postgresql://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


class Servers:
    """``count`` daphne processes serving the app on the test database with ``env`` overrides."""

    def __init__(self, count: int, env: dict[str, str]):
        self.ports = free_ports(count)
        self.env = {**os.environ, "DATABASE_URL": database_url(), "STOCKRACE_TESTING": "1",
                    "DB_POOL_MAX_SIZE": "50", **env}
        self.env.pop("PYTEST_CURRENT_TEST", None)
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> "Servers":
        for port in self.ports:
            self.procs.append(subprocess.Popen(
                [sys.executable, "-m", "daphne", "-v", "0", "-b", "127.0.0.1", "-p", str(port),
                 "stockrace.asgi:application"],
                cwd=BASE_DIR, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE))
        deadline = time.monotonic() + 60
        for port, proc in zip(self.ports, self.procs):
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"daphne on {port} exited: {proc.stderr.read().decode()[-2000:]}")
                try:
                    status, _ = request(port, "GET", "/api/v1/me/")
                    if status in (401, 403):
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"daphne on {port} did not answer")
                time.sleep(0.1)
        return self

    def __exit__(self, *exc) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def request(port: int, method: str, path: str, body=None, headers: dict | None = None,
            raw: bytes | None = None) -> tuple[int, dict | None]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        conn.request(method, path, body=payload, headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else None
    finally:
        conn.close()


def token_for(port: int, username: str, password: str) -> str:
    status, body = request(port, "POST", "/api/v1/auth/token/", {"username": username, "password": password})
    assert status == 200, body
    return body["access"]
