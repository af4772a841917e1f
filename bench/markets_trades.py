"""Benchmark: trades per second on ONE hot prediction market through the HTTP API.

    .venv/bin/python bench/markets_trades.py                          # defaults below
    .venv/bin/python bench/markets_trades.py --servers 2 --threads 4 --clients 2 --connections 8 --seconds 15

Every trade locks the same market row (SELECT … FOR UPDATE), so the row lock is the contention:
trades of one market run one at a time, and the figure is how many the locked section lets
through per second with the whole HTTP path around it (target: at least 300/s).

What it does:
1. creates a database of its own (``bench_markets``, dropped and created afresh, on the app's
   PostgreSQL server) and migrates it;
2. seeds ``--players`` players with 100,000 points each (ledger entries) and one CPMM market with
   ``--liquidity`` in each pool (fee 1.67 %);
3. starts ``--servers`` daphne processes on ports 8600+ (HTTP_THREADS=--threads, each worker
   thread keeping its database connection as the Procfile runs it; LOG_LEVEL=ERROR, access log off);
4. starts ``--clients`` load-generator processes, each keeping ``--connections`` keep-alive
   connections busy with POST /api/v1/markets/{id}/trades/ (JWT, an Idempotency-Key each): buys
   of YES or NO by amount (1 to 5 points) or by shares, so the price wanders around 50 %;
   players are spread over the connections, so no player comes near the API's rate limit;
5. reports accepted trades per second over the measured window (after a warm-up), latency
   percentiles, refusals by reason, the CPU of servers, clients, PostgreSQL and Redis, and checks
   afterwards that every balance equals its ledger and that markets_verify finds nothing;
6. with ``--service``, then calls ``market_trade`` directly from ``--service-procs`` processes on
   the same market (no HTTP): what the locked section itself lets through.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import resource
import subprocess
import sys
import time
import uuid

from _support import BASE_DIR, cpu_probe, cpu_seconds, fund_players, read_response, recreate_database, start_daphne
from bet_placement import merge_results, report, services_cpu

BENCH_DB = "bench_markets"


def django_setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockrace.settings")
    import django

    django.setup()


def seed(players: int, liquidity: int) -> tuple[list[str], int]:
    from datetime import timedelta
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.db import transaction
    from rest_framework_simplejwt.tokens import AccessToken

    from apps.core.redis import get_redis, redis_now
    from apps.markets.services import market_create
    from apps.points.models import PointsAccount

    get_redis().flushdb()
    User = get_user_model()
    with transaction.atomic():
        users = User.objects.bulk_create(User(username=f"mkt{i:05d}", password="!") for i in range(players))
        PointsAccount.objects.bulk_create(PointsAccount(user=u) for u in users)
        fund_players([u.pk for u in users], 100_000, key="bench:")  # through the ledger module
    market = market_create(question="Bench: one hot market?", kind="binary", mechanism="cpmm",
                           liquidity=Decimal(liquidity), initial_probability=Decimal("0.5"),
                           closes_at=redis_now() + timedelta(hours=6))
    return [str(AccessToken.for_user(u)) for u in users], market.pk


def trade_body(rng: random.Random) -> bytes:
    outcome = rng.randrange(2)
    if rng.random() < 0.7:
        body = {"outcome": outcome, "side": "buy", "amount": rng.randint(2, 6)}
    else:
        body = {"outcome": outcome, "side": "buy", "shares": str(rng.randint(1, 8))}
    return json.dumps(body).encode()


async def connection_loop(port: int, tokens: list[str], market_id: int, stop_at: float, measure_from: float,
                          rng: random.Random, stats: dict) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = 0
    try:
        while time.monotonic() < stop_at:
            token = tokens[i % len(tokens)]
            i += 1
            body = trade_body(rng)
            request = (f"POST /api/v1/markets/{market_id}/trades/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                       f"Idempotency-Key: {uuid.uuid4().hex}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
            started = time.monotonic()
            writer.write(request)
            status, payload = await read_response(reader)
            done = time.monotonic()
            if started < measure_from:
                continue
            if status == 201:
                stats["accepted"] += 1
                stats["latencies"].append(done - started)
            else:
                try:
                    code = json.loads(payload)["error"]["code"]
                except Exception:  # noqa: BLE001 - any unexpected answer is counted by status
                    code = "?"
                key = f"{status} {code}"
                stats["refused"][key] = stats["refused"].get(key, 0) + 1
    finally:
        writer.close()


def client_process(index: int, ports: list[int], tokens: list[str], market_id: int, connections: int,
                   start_at: float, warmup: float, seconds: float, queue: mp.Queue) -> None:
    stats = {"accepted": 0, "latencies": [], "refused": {}}

    async def main():
        delay = start_at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.monotonic()
        measure_from, stop_at = now + warmup, now + warmup + seconds
        rng = random.Random(index)
        tasks = [connection_loop(ports[(index * connections + c) % len(ports)], tokens[c::connections], market_id,
                                 stop_at, measure_from, random.Random(rng.random()), stats)
                 for c in range(connections)]
        await asyncio.gather(*tasks)

    asyncio.run(main())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    queue.put({**stats, "cpu": usage.ru_utime + usage.ru_stime})


def run_phase(args, ports, servers, tokens, market_id) -> dict:
    queue: mp.Queue = mp.Queue()
    per_client = [tokens[i::args.clients] for i in range(args.clients)]
    start_at = time.time() + 1.0
    clients = [mp.Process(target=client_process, args=(i, ports, per_client[i], market_id, args.connections,
                                                       start_at, args.warmup, args.seconds, queue))
               for i in range(args.clients)]
    for c in clients:
        c.start()
    time.sleep(1.0 + args.warmup)
    cpu_warm = {p.pid: cpu_seconds(p.pid) for p in servers}
    services_warm = services_cpu()
    results = [queue.get() for _ in clients]
    cpu_after = {p.pid: cpu_seconds(p.pid) for p in servers}
    services_after = services_cpu()
    for c in clients:
        c.join()
    return {**merge_results(results), "server_cpu": sum(cpu_after[p] - cpu_warm[p] for p in cpu_after),
            "services_cpu": {k: services_after[k] - services_warm.get(k, 0.0) for k in services_after}}


def service_process(index: int, database_url: str, user_ids: list[int], market_id: int, start_at: float,
                    warmup: float, seconds: float, queue: mp.Queue) -> None:
    """Call market_trade in a loop, no HTTP: the trade path itself, the row lock included."""
    django_setup(database_url)
    from apps.markets.errors import MarketRefused
    from apps.markets.services import market_trade, parse_order

    rng = random.Random(1000 + index)
    stats = {"accepted": 0, "latencies": [], "refused": {}}
    delay = start_at - time.time()
    if delay > 0:
        time.sleep(delay)
    now = time.monotonic()
    measure_from, stop_at = now + warmup, now + warmup + seconds
    i = 0
    while time.monotonic() < stop_at:
        started = time.monotonic()
        try:
            market_trade(user_id=user_ids[i % len(user_ids)], market_id=market_id,
                         order=parse_order(**json.loads(trade_body(rng))), idempotency_key=uuid.uuid4().hex)
            ok, code = True, ""
        except MarketRefused as exc:
            ok, code = False, exc.error_code
        i += 1
        if started < measure_from:
            continue
        if ok:
            stats["accepted"] += 1
            stats["latencies"].append(time.monotonic() - started)
        else:
            stats["refused"][code] = stats["refused"].get(code, 0) + 1
    usage = resource.getrusage(resource.RUSAGE_SELF)
    queue.put({**stats, "cpu": usage.ru_utime + usage.ru_stime})


def run_service_phase(args, database_url: str, market_id: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection

    user_ids = list(get_user_model().objects.filter(username__startswith="mkt").values_list("pk", flat=True))
    connection.close()
    queue: mp.Queue = mp.Queue()
    start_at = time.time() + 3.0  # Django starts up in each process first
    count = args.service_procs
    procs = [mp.Process(target=service_process, args=(i, database_url, user_ids[i::count], market_id, start_at,
                                                      args.warmup, args.seconds, queue)) for i in range(count)]
    for p in procs:
        p.start()
    services_warm = services_cpu()
    results = [queue.get() for _ in procs]
    services_after = services_cpu()
    for p in procs:
        p.join()
    return {**merge_results(results), "server_cpu": 0.0,
            "services_cpu": {k: services_after[k] - services_warm.get(k, 0.0) for k in services_after}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=2, help="daphne processes")
    parser.add_argument("--threads", type=int, default=4, help="HTTP_THREADS per server process")
    parser.add_argument("--clients", type=int, default=2, help="load-generator processes")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections per client process")
    parser.add_argument("--players", type=int, default=2000)
    parser.add_argument("--liquidity", type=int, default=1_000_000, help="CPMM pools (keeps the price near 50 %%)")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--redis-db", type=int, default=6, help="Redis database for the run (flushed)")
    parser.add_argument("--service", action="store_true",
                        help="then call market_trade directly (no HTTP) from --service-procs processes")
    parser.add_argument("--service-procs", type=int, default=6)
    args = parser.parse_args()

    from stockrace import config

    probe_before = cpu_probe()
    database_url = recreate_database(BENCH_DB)
    redis_url = config.redis_url_with_db(os.environ["REDIS_URL"], args.redis_db)
    print(f"database {BENCH_DB}, redis db {args.redis_db}: migrating...", flush=True)
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "DB_CONN_MAX_AGE": "300",
           "HTTP_THREADS": str(args.threads), "LOG_LEVEL": "ERROR", "MARKET_FEE_PCT": "1.67",
           "API_THROTTLE_USER": "1000000/min", "API_THROTTLE_ANON": "1000000/min"}
    env.pop("STOCKRACE_TESTING", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=BASE_DIR, env=env, check=True)
    os.environ.update(REDIS_URL=redis_url, MARKET_FEE_PCT="1.67")
    os.environ.pop("STOCKRACE_TESTING", None)
    django_setup(database_url)
    tokens, market_id = seed(args.players, args.liquidity)
    from django.db import connection

    connection.close()
    print(f"seeded {len(tokens)} players and market {market_id}; starting {args.servers} daphne...", flush=True)
    ports, servers = start_daphne(args.servers, env, range(8600, 8700), quiet=True)
    try:
        stats = run_phase(args, ports, servers, tokens, market_id)
    finally:
        servers.stop()
    service = run_service_phase(args, database_url, market_id) if args.service else None

    from django.db.models import Sum

    from apps.markets.models import Market
    from apps.markets.verify import markets_verify
    from apps.points.models import LedgerEntry, PointsAccount

    balances = PointsAccount.objects.aggregate(s=Sum("balance"))["s"]
    ledger = LedgerEntry.objects.aggregate(s=Sum("amount"))["s"]
    market = Market.objects.get(pk=market_id)
    print(f"\nservers: {args.servers} daphne ({args.threads} threads each), clients: {args.clients} processes x "
          f"{args.connections} connections, {args.players} players, one market, {os.cpu_count()} CPUs")
    report("accepted trades on one market", stats, args.seconds)
    if service is not None:
        report(f"market_trade called directly by {args.service_procs} processes (no HTTP; CPU is theirs)", service,
               args.seconds)
    started = time.monotonic()
    problems = markets_verify([market_id])
    print(f"trades stored: {market.seq}; markets_verify: {sum(len(p) for p in problems.values())} differences "
          f"({time.monotonic() - started:.1f} s); sum of balances {balances} == sum of ledger {ledger}: "
          f"{balances == ledger}")
    print(f"CPU probe (10M-step Python loop): {probe_before:.2f} s before, {cpu_probe():.2f} s after — "
          "compare runs only at similar probe times")
    return 0 if balances == ledger and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
