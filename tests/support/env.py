"""The environment of the processes tests and benchmarks start: the database URL, the
settings they share with the test process, and free loopback ports."""
from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parents[2]
# Variables of the test process a child must not inherit: pytest's bookkeeping, and the
# switch that lets the test process run sync ORM code inside an event loop.
NOT_INHERITED = ("PYTEST_CURRENT_TEST", "DJANGO_ALLOW_ASYNC_UNSAFE")


def database_url(db: dict | None = None) -> str:
    """A Django database settings dict (default: the connection the tests use, i.e. the test
    database pytest-django created) as the DATABASE_URL stockrace/settings.py reads."""
    if db is None:
        from django.db import connection

        db = connection.settings_dict
    auth = quote(db["USER"] or "") + (":" + quote(db["PASSWORD"]) if db.get("PASSWORD") else "")
    host, port, name = db.get("HOST") or "", db.get("PORT") or "", db["NAME"]
    if host.startswith("/"):  # a unix socket directory
        return f"postgresql://{auth}@/{name}?host={quote(host)}" + (f"&port={port}" if port else "")
    return f"postgresql://{auth}@{host or 'localhost'}:{port or 5432}/{name}"


def child_env(env: dict | None = None, **extra) -> dict[str, str]:
    """The environment of a child process on the test database and the test Redis database,
    with the test settings (STOCKRACE_TESTING: same password hasher, throttles, Redis db and
    pub/sub prefix as the test process). ``extra`` overrides (values made strings)."""
    from django.conf import settings

    base = dict(os.environ if env is None else env)
    base.update(DATABASE_URL=database_url(), REDIS_URL=settings.REDIS_URL, STOCKRACE_TESTING="1",
                DJANGO_SETTINGS_MODULE="stockrace.settings", PYTHONUNBUFFERED="1")
    for name in NOT_INHERITED:
        base.pop(name, None)
    base.update({k: str(v) for k, v in extra.items()})
    return base


def free_ports(count: int = 1, ports: range | None = None) -> list[int]:
    """``count`` loopback ports nothing listens on: from ``ports`` when given (a benchmark's
    documented range), else picked by the kernel (no clash between suites run side by side)."""
    if ports is None:
        socks = [socket.socket() for _ in range(count)]
        try:
            for sock in socks:
                sock.bind(("127.0.0.1", 0))
            return [sock.getsockname()[1] for sock in socks]
        finally:
            for sock in socks:
                sock.close()
    found = []
    for port in ports:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            return found
    raise RuntimeError(f"not enough free ports in {ports.start}-{ports.stop - 1}")


def free_port() -> int:
    return free_ports(1)[0]


PYTHON = sys.executable
