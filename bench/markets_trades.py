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
import functools
import itertools
import json
import os
import random
import sys
import time
import uuid

from _load import add_load_arguments, post, report, run_call_phase, run_http_phase
from _support import cpu_probe, django_setup, fund_players, ledger_check, prepare_stack, start_daphne

BENCH_DB = "bench_markets"


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


def trade_session(tokens: list[str], rng: random.Random, *, market_id: int):
    """One connection's trades (bench/_load.py): its players in turn, an Idempotency-Key each."""
    path = f"/api/v1/markets/{market_id}/trades/"
    i = 0
    while True:
        token = tokens[i % len(tokens)]
        i += 1
        yield post(path, token, trade_body(rng), idempotency_key=uuid.uuid4().hex)


def service_setup(index: int, user_ids: list[int], *, database_url: str, market_id: int):
    """In a --service process: Django and one market_trade call to repeat (no HTTP; the row lock included)."""
    django_setup(database_url)
    from apps.markets.errors import MarketRefused
    from apps.markets.services import market_trade, parse_order

    rng = random.Random(1000 + index)
    turn = itertools.count()

    def call() -> str | None:
        try:
            market_trade(user_id=user_ids[next(turn) % len(user_ids)], market_id=market_id,
                         order=parse_order(**json.loads(trade_body(rng))), idempotency_key=uuid.uuid4().hex)
        except MarketRefused as exc:
            return exc.error_code
        return None

    return call


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_load_arguments(parser, redis_db=6)
    parser.add_argument("--players", type=int, default=2000)
    parser.add_argument("--liquidity", type=int, default=1_000_000, help="CPMM pools (keeps the price near 50 %%)")
    parser.add_argument("--service", action="store_true",
                        help="then call market_trade directly (no HTTP) from --service-procs processes")
    parser.add_argument("--service-procs", type=int, default=6)
    args = parser.parse_args()

    probe_before = cpu_probe()
    database_url, env = prepare_stack(BENCH_DB, redis_db=args.redis_db, env={
        "DB_CONN_MAX_AGE": "300", "HTTP_THREADS": str(args.threads), "LOG_LEVEL": "ERROR", "MARKET_FEE_PCT": "1.67",
        "API_THROTTLE_USER": "1000000/min", "API_THROTTLE_ANON": "1000000/min"})
    tokens, market_id = seed(args.players, args.liquidity)
    from django.db import connection

    connection.close()
    print(f"seeded {len(tokens)} players and market {market_id}; starting {args.servers} daphne...", flush=True)
    ports, servers = start_daphne(args.servers, env, range(8600, 8700), quiet=True)
    try:
        stats = run_http_phase(ports=ports, servers=servers, players=tokens,
                               session=functools.partial(trade_session, market_id=market_id), clients=args.clients,
                               connections=args.connections, warmup=args.warmup, seconds=args.seconds)
    finally:
        servers.stop()
    service = None
    if args.service:
        from django.contrib.auth import get_user_model

        user_ids = list(get_user_model().objects.filter(username__startswith="mkt").values_list("pk", flat=True))
        connection.close()
        service = run_call_phase(procs=args.service_procs, players=user_ids, warmup=args.warmup, seconds=args.seconds,
                                 setup=functools.partial(service_setup, database_url=database_url,
                                                         market_id=market_id))

    from apps.markets.models import Market
    from apps.markets.verify import markets_verify

    balances, ledger, bad = ledger_check()
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
          f"{balances == ledger}; accounts whose balance != their ledger: {bad}")
    print(f"CPU probe (10M-step Python loop): {probe_before:.2f} s before, {cpu_probe():.2f} s after — "
          "compare runs only at similar probe times")
    return 0 if balances == ledger and bad == 0 and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
