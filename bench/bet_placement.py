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

The load generator (bench/_load.py, shared with the other API benches) costs far less CPU per
request than the server, and its CPU time is reported so the split is visible.
"""
from __future__ import annotations

import argparse
import functools
import itertools
import json
import os
import random
import sys

from _load import add_load_arguments, post, report, run_call_phase, run_http_phase
from _support import cpu_probe, django_setup, fund_players, ledger_check, prepare_stack, start_daphne

BENCH_DB = "bench_bets"


# --------------------------------------------------------------------------- setup


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


def bet_session(tokens: list[str], rng: random.Random, *, races: list):
    """One connection's bets (bench/_load.py): its players in turn, each on a random race."""
    i = 0
    while True:
        token = tokens[i % len(tokens)]
        i += 1
        race_id, symbols = rng.choice(races)
        yield post(f"/api/v1/races/{race_id}/bets/", token, bet_body(rng, symbols))


def baseline_session(tokens: list[str], rng: random.Random):
    """The same stack's floor: an anonymous request DRF refuses (401) before any I/O."""
    while True:
        yield BASELINE_REQUEST


# --------------------------------------------------------------------------- main


def run_phase(args, ports: list[int], servers: list, tokens: list[str], races: list, baseline: bool) -> dict:
    """One measured load phase against the running servers; returns the merged client stats."""
    return run_http_phase(ports=ports, servers=servers, players=tokens,
                          session=baseline_session if baseline else functools.partial(bet_session, races=races),
                          expected=401 if baseline else 201, clients=args.clients, connections=args.connections,
                          warmup=args.warmup, seconds=args.seconds)


def service_setup(index: int, user_ids: list[int], *, database_url: str, races: list):
    """In a --service process: Django, its players, and one bet_place call to repeat (no HTTP)."""
    django_setup(database_url)
    from django.contrib.auth import get_user_model

    from apps.bets.errors import BetRefused
    from apps.bets.services import bet_place

    users = list(get_user_model().objects.filter(pk__in=user_ids))
    rng = random.Random(1000 + index)
    turn = itertools.count()

    def call() -> str | None:
        race_id, symbols = rng.choice(races)
        try:
            bet_place(user=users[next(turn) % len(users)], race_id=race_id, **json.loads(bet_body(rng, symbols)))
        except BetRefused as exc:
            return exc.error_code
        return None

    return call


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_load_arguments(parser, redis_db=4)
    parser.add_argument("--server", choices=("daphne", "uvicorn"), default="daphne",
                        help="the ASGI server (uvicorn: uvloop + httptools)")
    parser.add_argument("--pool", type=int, default=0,
                        help="DB_POOL_MAX_SIZE per server (default 0: each worker thread keeps its own "
                             "connection, DB_CONN_MAX_AGE=300, as the Procfile runs it)")
    parser.add_argument("--players", type=int, default=4000)
    parser.add_argument("--races", type=int, default=40)
    parser.add_argument("--service", action="store_true",
                        help="then call bet_place directly (no HTTP) from --service-procs processes")
    parser.add_argument("--service-procs", type=int, default=6)
    parser.add_argument("--baseline", action="store_true",
                        help="then measure the same stack's floor: anonymous GET /api/v1/me/ (401, no I/O)")
    args = parser.parse_args()

    probe_before = cpu_probe()
    database_url, env = prepare_stack(BENCH_DB, redis_db=args.redis_db, env={
        "DB_POOL_MAX_SIZE": str(args.pool), "DB_CONN_MAX_AGE": "0" if args.pool else "300",
        "HTTP_THREADS": str(args.threads), "LOG_LEVEL": "ERROR", "BET_RATE_LIMIT_IP": "10000000/min"})
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
        service = run_call_phase(procs=args.service_procs, players=user_ids, warmup=args.warmup, seconds=args.seconds,
                                 setup=functools.partial(service_setup, database_url=database_url, races=races))

    from apps.bets.models import Bet

    balances, ledger, bad = ledger_check()

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
