"""Plumbing the benchmarks share: a fresh database of their own on the app's PostgreSQL,
daphne servers on free ports, and a process's CPU time. Benchmarks run as
``python bench/NAME.py``, so this module is importable as ``_support``."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))


def use_app_services() -> None:
    """DATABASE_URL and REDIS_URL of the app: the embedded servers when they are unset."""
    from stockrace import embedded

    if embedded.export_urls():
        os.environ["STOCKRACE_EMBEDDED"] = "1"  # the embedded stack's local-only defaults (SECRET_KEY)


def recreate_database(name: str) -> str:
    """Drop and create database ``name`` on the app's PostgreSQL server; return its URL."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    from stockrace import config

    use_app_services()
    app_url = os.environ["DATABASE_URL"]
    db = config.parse_database_url(app_url, [])
    conninfo = psycopg.conninfo.make_conninfo(dbname="postgres", user=db["USER"] or None,
                                              password=db["PASSWORD"] or None, host=db["HOST"] or None,
                                              port=db["PORT"] or None)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return urlunsplit(urlsplit(app_url)._replace(path=f"/{name}"))


def free_ports(count: int, ports: range) -> list[int]:
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
    raise SystemExit(f"not enough free ports in {ports.start}-{ports.stop - 1}")


def server_command(server: str, port: int, *, quiet: bool = False) -> list[str]:
    """The command line of one ASGI server process on 127.0.0.1:``port`` (daphne or uvicorn)."""
    if server == "uvicorn":  # uvloop + httptools; requirements-dev only
        return [sys.executable, "-m", "uvicorn", "stockrace.asgi:application", "--host", "127.0.0.1",
                "--port", str(port), "--loop", "uvloop", "--http", "httptools", "--ws", "websockets-sansio",
                "--ws-per-message-deflate", "false", "--no-access-log", *(["--log-level", "warning"] if quiet else [])]
    return [sys.executable, "-m", "daphne", *(["-v", "0"] if quiet else []), "-b", "127.0.0.1", "-p", str(port),
            "stockrace.asgi:application"]


def start_daphne(count: int, env: dict, ports: range, *, quiet: bool = False, server: str = "daphne"
                 ) -> tuple[list[int], list[subprocess.Popen]]:
    """``count`` ASGI server processes (daphne unless ``server`` says uvicorn) serving the app, each
    on a free port of ``ports``, once all accept."""
    chosen = free_ports(count, ports)
    procs = [subprocess.Popen(server_command(server, p, quiet=quiet), cwd=BASE_DIR, env=env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for p in chosen]
    deadline = time.monotonic() + 90
    for port, proc in zip(chosen, procs):
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"{server} on port {port} exited with {proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{server} on port {port} did not start")
                time.sleep(0.1)
    return chosen, procs


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_probe() -> float:
    """CPU seconds a fixed pure-Python loop takes: how fast this (virtual) machine's cores are
    right now. The same loop has taken 1.2-1.65 s on an idle machine of this kind; runs are
    only comparable at similar probe times."""
    began = time.process_time()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.process_time() - began


async def read_response(reader) -> tuple[int, bytes]:
    """One HTTP/1.1 response from an asyncio StreamReader: (status, body), by Content-Length or
    chunked (the load generators keep connections alive and read answers this way)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"]))
    body = b""
    while True:  # chunked
        size = int((await reader.readline()).strip(), 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return status, body
        body += chunk[:-2]
