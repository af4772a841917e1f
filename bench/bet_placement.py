"""Benchmark: bet placement through the HTTP API, many concurrent clients, real ASGI servers.

    .venv/bin/python bench/bet_placement.py                 # defaults below
    .venv/bin/python bench/bet_placement.py --servers 3 --clients 2 --connections 16 --seconds 20 --baseline

What it does:
1. creates a database of its own (``bench_bets``, dropped and created afresh; on the same
   PostgreSQL server as the app) and migrates it;
2. seeds ``--players`` players (1,000 points each, through ledger entries) and ``--races``
   open races of 4 stocks, and publishes their winner odds;
3. starts ``--servers`` daphne processes on ports 8500+ (the clients spread their
   connections over them);
4. starts ``--clients`` load-generator processes, each keeping ``--connections`` keep-alive
   HTTP/1.1 connections busy with POST /api/v1/races/{id}/bets/ (JWT auth, a winner,
   bracket or podium bet of 1 point). Players are spread over connections and cycled, so
   no player bets more often than every few seconds: the bet cooldown (2 s) and the per-player
   rate limit stay at their defaults and refuse nothing. All clients share one address, so the
   per-IP limit is raised for the run. The servers run with DB_POOL_MAX_SIZE=4 (pooled
   connections), LOG_LEVEL=ERROR and daphne's access log off (-v 0);
5. reports accepted bets per second over the measured window (after a warm-up), latency
   percentiles, refusals by reason, CPU used by servers and clients, and checks afterwards
   that every balance equals the sum of its ledger;
6. with ``--baseline``, measures the same servers' floor the same way: an anonymous
   GET /api/v1/me/ that DRF answers 401 before any database or Redis call. The bet path
   cannot be faster than that;
7. with ``--service``, calls ``bet_place`` directly from ``--service-procs`` processes (no HTTP, no
   server): what the placement path itself (Redis, the statement, the confirmation) can do.

The load generator is a few lines of asyncio writing prebuilt requests: it costs far less
CPU per request than the server, and its CPU time is reported so the split is visible.
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

from _support import BASE_DIR, cpu_probe, cpu_seconds, fund_players, read_response, recreate_database, start_daphne

BENCH_DB = "bench_bets"


# --------------------------------------------------------------------------- setup


def django_setup(database_url: str | None = None) -> None:
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockrace.settings")
    import django

    django.setup()


def seed(players: int, races: int) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Players with 1,000 points (signup entries, through the ledger module) and open races; returns (tokens, [(race_id, symbols)])."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.db import transaction
    from rest_framework_simplejwt.tokens import AccessToken

    from apps.bets.services import race_odds_publish
    from apps.core.redis import get_redis, redis_now
    from apps.market.models import Stock
    from apps.points.models import PointsAccount
    from apps.races.models import Race
    from apps.races.services import race_create

    User = get_user_model()
    get_redis().flushdb()
    symbols = ["AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "GOOG", "META", "NFLX"]
    with transaction.atomic():
        for i, symbol in enumerate(symbols):
            Stock.objects.create(symbol=symbol, name=symbol, sector="Technology", reference_price=100 + i)
        users = User.objects.bulk_create(User(username=f"bench{i:05d}", password="!") for i in range(players))
        PointsAccount.objects.bulk_create(PointsAccount(user=u) for u in users)
        fund_players([u.pk for u in users], 1000, kind="signup_bonus", key="signup:")  # through the ledger
    starts_at = redis_now() + timedelta(hours=2)
    race_list = []
    for r in range(races):
        chosen = random.Random(r).sample(symbols, 4)
        race = race_create(title=f"Bench race {r}", duration="1h", symbols=chosen, starts_at=starts_at,
                           betting_window=timedelta(hours=3))
        Race.objects.filter(pk=race.pk).update(state=Race.State.OPEN)
        race_odds_publish(race_id=race.pk)
        race_list.append((race.pk, chosen))
    return [str(AccessToken.for_user(u)) for u in users], race_list


# --------------------------------------------------------------------------- load generator


def bet_body(rng: random.Random, symbols: list[str]) -> bytes:
    kind = rng.choices(("winner", "bracket", "podium"), weights=(6, 3, 1))[0]
    if kind == "winner":
        body = {"kind": kind, "stake": 1, "symbol": rng.choice(symbols)}
    elif kind == "bracket":
        low = round(rng.uniform(-1.0, 0.8), 1)
        body = {"kind": kind, "stake": 1, "symbol": rng.choice(symbols), "low_pct": low, "high_pct": low + 0.4}
    else:
        body = {"kind": kind, "stake": 1, "symbols": rng.sample(symbols, 3)}
    return json.dumps(body).encode()


BASELINE_REQUEST = b"GET /api/v1/me/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


async def connection_loop(port: int, tokens: list[str], races: list, stop_at: float, measure_from: float,
                          rng: random.Random, stats: dict, baseline: bool) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = 0
    try:
        while time.monotonic() < stop_at:
            if baseline:  # the same stack's floor: an anonymous request DRF refuses before any I/O
                request, expected = BASELINE_REQUEST, 401
            else:
                token = tokens[i % len(tokens)]
                i += 1
                race_id, symbols = rng.choice(races)
                body = bet_body(rng, symbols)
                request = (f"POST /api/v1/races/{race_id}/bets/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                           f"Content-Length: {len(body)}\r\n\r\n").encode() + body
                expected = 201
            started = time.monotonic()
            writer.write(request)
            status, payload = await read_response(reader)
            done = time.monotonic()
            if started < measure_from:
                continue
            if status == expected:
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


def client_process(index: int, ports: list[int], tokens: list[str], races: list, connections: int,
                   start_at: float, warmup: float, seconds: float, baseline: bool, queue: mp.Queue) -> None:
    stats = {"accepted": 0, "latencies": [], "refused": {}}

    async def main():
        delay = start_at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.monotonic()
        measure_from, stop_at = now + warmup, now + warmup + seconds
        rng = random.Random(index)
        # Each connection owns a disjoint slice of the players and cycles through it.
        tasks = [connection_loop(ports[(index * connections + c) % len(ports)], tokens[c::connections], races,
                                 stop_at, measure_from, random.Random(rng.random()), stats, baseline)
                 for c in range(connections)]
        await asyncio.gather(*tasks)

    asyncio.run(main())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    queue.put({**stats, "cpu": usage.ru_utime + usage.ru_stime})


# --------------------------------------------------------------------------- main


def run_phase(args, ports: list[int], servers: list, tokens: list[str], races: list,
              baseline: bool) -> dict:
    """One measured load phase against the running servers; returns the merged client stats."""
    queue: mp.Queue = mp.Queue()
    per_client = [tokens[i::args.clients] for i in range(args.clients)]
    start_at = time.time() + 1.0
    clients = [mp.Process(target=client_process, args=(i, ports, per_client[i], races, args.connections, start_at,
                                                       args.warmup, args.seconds, baseline, queue))
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
    return {**merge_results(results),
            "server_cpu": sum(cpu_after[p] - cpu_warm[p] for p in cpu_after),
            "services_cpu": {k: services_after[k] - services_warm.get(k, 0.0) for k in services_after}}


def merge_results(results: list[dict]) -> dict:
    """The load processes' stats as one: accepted, sorted latencies, refusals by reason, their CPU."""
    refused: dict[str, int] = {}
    for r in results:
        for k, v in r["refused"].items():
            refused[k] = refused.get(k, 0) + v
    return {"accepted": sum(r["accepted"] for r in results),
            "latencies": sorted(x for r in results for x in r["latencies"]), "refused": refused,
            "client_cpu": sum(r["cpu"] for r in results)}


def services_cpu() -> dict[str, float]:
    """CPU seconds used so far by every PostgreSQL and Redis server process on this machine (the
    bench's requests are nearly all they serve while it runs)."""
    import psutil

    totals = {"postgres": 0.0, "redis": 0.0}
    for proc in psutil.process_iter(["name", "cpu_times"]):
        name = proc.info["name"] or ""
        kind = "postgres" if name.startswith("postgres") else "redis" if name.startswith("redis-server") else None
        if kind and proc.info["cpu_times"]:
            totals[kind] += proc.info["cpu_times"].user + proc.info["cpu_times"].system
    return totals


def report(label: str, stats: dict, seconds: float) -> None:
    lat = stats["latencies"]
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else 0.0  # noqa: E731
    done = stats["accepted"]
    print(f"{label}: {done} in {seconds:.0f} s = {done / seconds:.0f}/s; latency p50 {pct(0.5):.1f} ms, "
          f"p90 {pct(0.9):.1f} ms, p99 {pct(0.99):.1f} ms")
    print(f"  refused: {stats['refused'] or 'none'}")
    print(f"  CPU: servers {stats['server_cpu']:.1f} s over the measured window "
          f"({stats['server_cpu'] * 1000 / max(done, 1):.1f} ms per request), load generator "
          f"{stats['client_cpu']:.1f} s")
    if stats.get("services_cpu"):
        pg, rd = stats["services_cpu"]["postgres"], stats["services_cpu"]["redis"]
        print(f"  CPU: PostgreSQL {pg:.1f} s ({pg * 1000 / max(done, 1):.2f} ms per request), Redis {rd:.1f} s "
              f"({rd * 1000 / max(done, 1):.2f} ms per request) over the measured window")


def service_process(index: int, database_url: str, user_ids: list[int], races: list, start_at: float,
                    warmup: float, seconds: float, queue: mp.Queue) -> None:
    """Call bet_place in a loop, no HTTP: what the placement path itself costs."""
    django_setup(database_url)
    from django.contrib.auth import get_user_model

    from apps.bets.errors import BetRefused
    from apps.bets.services import bet_place

    users = list(get_user_model().objects.filter(pk__in=user_ids))
    rng = random.Random(1000 + index)
    stats = {"accepted": 0, "latencies": [], "refused": {}}
    delay = start_at - time.time()
    if delay > 0:
        time.sleep(delay)
    now = time.monotonic()
    measure_from, stop_at = now + warmup, now + warmup + seconds
    i = 0
    while time.monotonic() < stop_at:
        race_id, symbols = rng.choice(races)
        started = time.monotonic()
        try:
            bet_place(user=users[i % len(users)], race_id=race_id, **json.loads(bet_body(rng, symbols)))
            ok, code = True, ""
        except BetRefused as exc:
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


def run_service_phase(args, database_url: str, user_ids: list[int], races: list) -> dict:
    queue: mp.Queue = mp.Queue()
    start_at = time.time() + 3.0  # Django starts up in each process first
    count = args.service_procs
    procs = [mp.Process(target=service_process, args=(i, database_url, user_ids[i::count], races, start_at,
                                                      args.warmup, args.seconds, queue))
             for i in range(count)]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    return {**merge_results(results), "server_cpu": 0.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=2, help="ASGI server processes")
    parser.add_argument("--server", choices=("daphne", "uvicorn"), default="daphne",
                        help="the ASGI server (uvicorn: uvloop + httptools)")
    parser.add_argument("--threads", type=int, default=4, help="HTTP_THREADS per server process")
    parser.add_argument("--pool", type=int, default=0,
                        help="DB_POOL_MAX_SIZE per server (default 0: each worker thread keeps its own "
                             "connection, DB_CONN_MAX_AGE=300, as the Procfile runs it)")
    parser.add_argument("--clients", type=int, default=2, help="load-generator processes")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections per client process")
    parser.add_argument("--players", type=int, default=4000)
    parser.add_argument("--races", type=int, default=40)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--redis-db", type=int, default=4, help="Redis database for the run (flushed)")
    parser.add_argument("--service", action="store_true",
                        help="then call bet_place directly (no HTTP) from --service-procs processes")
    parser.add_argument("--service-procs", type=int, default=6)
    parser.add_argument("--baseline", action="store_true",
                        help="then measure the same stack's floor: anonymous GET /api/v1/me/ (401, no I/O)")
    args = parser.parse_args()

    from stockrace import config

    probe_before = cpu_probe()
    database_url = recreate_database(BENCH_DB)
    redis_url = config.redis_url_with_db(os.environ["REDIS_URL"], args.redis_db)
    print(f"database {BENCH_DB}, redis db {args.redis_db}: migrating...", flush=True)
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "DB_POOL_MAX_SIZE": str(args.pool), "DB_CONN_MAX_AGE": "0" if args.pool else "300",
           "HTTP_THREADS": str(args.threads), "LOG_LEVEL": "ERROR", "BET_RATE_LIMIT_IP": "10000000/min"}
    env.pop("STOCKRACE_TESTING", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=BASE_DIR, env=env, check=True)
    os.environ["REDIS_URL"] = redis_url
    django_setup(database_url)
    tokens, races = seed(args.players, args.races)
    from django.db import connection

    connection.close()
    print(f"seeded {len(tokens)} players, {len(races)} open races; starting {args.servers} {args.server}...", flush=True)

    ports, servers = start_daphne(args.servers, env, range(8500, 8600), quiet=True, server=args.server)
    try:
        bets = run_phase(args, ports, servers, tokens, races, baseline=False)
        floor = run_phase(args, ports, servers, tokens, races, baseline=True) if args.baseline else None
    finally:
        servers.stop()
    service = None
    if args.service:
        from django.contrib.auth import get_user_model

        user_ids = list(get_user_model().objects.filter(username__startswith="bench").values_list("pk", flat=True))
        connection.close()
        service = run_service_phase(args, database_url, user_ids, races)

    from django.db.models import Sum

    from apps.bets.models import Bet
    from apps.points.models import LedgerEntry, PointsAccount

    balances = PointsAccount.objects.aggregate(s=Sum("balance"))["s"]
    ledger = LedgerEntry.objects.aggregate(s=Sum("amount"))["s"]
    mismatched = (PointsAccount.objects.raw(
        "SELECT a.user_id FROM points_pointsaccount a JOIN (SELECT user_id, SUM(amount) s FROM points_ledgerentry "
        "GROUP BY user_id) l USING (user_id) WHERE a.balance <> l.s"))
    bad = len(list(mismatched))

    print(f"\nservers: {args.servers} {args.server} ({args.threads} threads each), clients: {args.clients} processes "
          f"x {args.connections} connections, "
          f"{args.players} players, {args.races} races, {os.cpu_count()} CPUs")
    report("accepted bets", bets, args.seconds)
    if floor is not None:
        report("baseline GET /api/v1/me/ -> 401 (no I/O)", floor, args.seconds)
    if service is not None:
        report(f"bet_place called directly by {args.service_procs} processes (no HTTP; CPU is theirs)", service,
               args.seconds)
    print(f"CPU probe (10M-step Python loop): {probe_before:.2f} s before, {cpu_probe():.2f} s after — "
          "compare runs only at similar probe times")
    print(f"bets stored: {Bet.objects.count()}; sum of balances {balances} == sum of ledger {ledger}: "
          f"{balances == ledger}; accounts whose balance != their ledger: {bad}")
    return 0 if balances == ledger and bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
