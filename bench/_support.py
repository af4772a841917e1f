"""Plumbing the benchmarks share: a fresh database of their own on the app's PostgreSQL,
funded players, daphne servers on free ports, a process's CPU time, the balance-equals-ledger
check (the HTTP load generator is bench/_load.py). Benchmarks run as
``python bench/NAME.py``, so this module is importable as ``_support``. The database URL, the
ports and the server processes come from tests/support, as for the tests."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from tests.support import processes  # noqa: E402 - after the repository root is on sys.path
from tests.support.env import database_url, free_ports  # noqa: E402,F401 - free_ports: for the benches


def use_app_services() -> None:
    """DATABASE_URL and REDIS_URL of the app: the embedded servers when they are unset."""
    from stockrace import embedded

    if embedded.export_urls():
        os.environ["STOCKRACE_EMBEDDED"] = "1"  # the embedded stack's local-only defaults (SECRET_KEY)


def recreate_database(name: str) -> str:
    """Drop and create database ``name`` on the app's PostgreSQL server; return its URL."""
    import psycopg

    from stockrace import config

    use_app_services()
    db = config.parse_database_url(os.environ["DATABASE_URL"], [])
    conninfo = psycopg.conninfo.make_conninfo(dbname="postgres", user=db["USER"] or None,
                                              password=db["PASSWORD"] or None, host=db["HOST"] or None,
                                              port=db["PORT"] or None)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return database_url({**db, "NAME": name})


def prepare_stack(name: str, *, redis_db: int, env: dict[str, str]) -> tuple[str, dict[str, str]]:
    """A fresh, migrated database ``name`` and Redis database ``redis_db`` (the bench flushes it)
    for a bench, and Django set up on them in this process. Returns (database URL, the environment
    of the bench's servers: this one with both URLs and ``env`` on top, the test settings off),
    which this process takes too."""
    from stockrace import config

    database_url = recreate_database(name)
    redis_url = config.redis_url_with_db(os.environ["REDIS_URL"], redis_db)
    print(f"database {name}, redis db {redis_db}: migrating...", flush=True)
    server_env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, **env}
    server_env.pop("STOCKRACE_TESTING", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=BASE_DIR, env=server_env, check=True)
    os.environ.update(server_env)
    os.environ.pop("STOCKRACE_TESTING", None)
    django_setup(database_url)
    return database_url, server_env


def django_setup(database_url: str | None = None) -> None:
    """Set Django up in this process, on ``database_url`` when given."""
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockrace.settings")
    import django

    django.setup()


def ledger_check() -> tuple[int, int, int]:
    """(sum of balances, sum of ledger entries, accounts whose balance differs from their ledger)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT (SELECT COALESCE(SUM(balance), 0) FROM points_pointsaccount),
                   (SELECT COALESCE(SUM(amount), 0) FROM points_ledgerentry),
                   (SELECT count(*) FROM points_pointsaccount a
                    LEFT JOIN (SELECT user_id, SUM(amount) s FROM points_ledgerentry GROUP BY user_id) l USING (user_id)
                    WHERE a.balance <> COALESCE(l.s, 0))""")
        return cursor.fetchone()


def fund_players(user_ids: list[int], amount: int, *, kind: str = "adjustment", key: str = "bench-fund:",
                 memo: str = "bench") -> None:
    """Credit ``amount`` points to each player's (open, empty) account through the ledger module,
    in one set-based statement (apps.points.ledger.credit_many; keys ``{key}{user_id}``). Call it
    inside the transaction that created the accounts, or on its own."""
    from django.db import connection, transaction

    from apps.points import ledger

    with transaction.atomic(), connection.cursor() as cursor:
        ledger.lock_accounts(cursor, user_ids=user_ids)
        ledger.credit_many(cursor, source_sql="""
            SELECT user_id, %(amount)s::bigint AS amount, %(key)s || user_id AS key, NULL::bigint AS bet_id,
                   NULL::text AS memo
            FROM points_pointsaccount WHERE user_id = ANY(%(users)s)""",
                           params={"amount": amount, "key": key, "users": list(user_ids)}, kind=kind, memo=memo)


def start_daphne(count: int, env: dict, ports: range, *, quiet: bool = False, server: str = "daphne"
                 ) -> tuple[list[int], processes.Processes]:
    """``count`` ASGI server processes (daphne unless ``server`` says uvicorn) serving the app with
    environment ``env``, each on a free port of ``ports``, once all answer HTTP (tests/support).
    Stop them with ``.stop()``."""
    servers = processes.daphnes(count, ports=ports, env=env, quiet=quiet, server=server, output=subprocess.DEVNULL)
    return servers.ports, servers


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
