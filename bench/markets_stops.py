"""Benchmark: one trade that sets off a cascade of 1,000 stop-losses, inside its own transaction.

    .venv/bin/python bench/markets_stops.py                  # 1,000 stops
    .venv/bin/python bench/markets_stops.py --stops 200 --spread 0.0002

What it does:
1. creates a database of its own (``bench_market_stops``, dropped and created afresh, on the app's
   PostgreSQL server) and migrates it;
2. opens one CPMM market and ``--stops`` players, each buying YES and setting a stop-loss
   ``--spread`` × i below the price (i = 1…N): the first stops sit just under the price, the
   others lower and lower, so each level of the cascade crosses the next;
3. one player buys NO for ``--amount`` points: that trade crosses the first stops, whose sales
   cross the next ones, level after level (MARKET_STOP_MAX_DEPTH is raised to --stops for the
   run), all in the one transaction;
4. reports the trade's wall time, the stops executed and the levels, and checks afterwards that
   every balance equals its ledger and that markets_verify finds nothing.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from _support import cpu_probe, fund_players, recreate_database

BENCH_DB = "bench_market_stops"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stops", type=int, default=1000)
    parser.add_argument("--spread", type=float, default=0.0001, help="price step between two stops' triggers")
    parser.add_argument("--amount", type=int, default=400, help="points of the NO buy that starts the cascade")
    parser.add_argument("--redis-db", type=int, default=5, help="Redis database for the run (flushed)")
    args = parser.parse_args()

    from stockrace import config

    probe_before = cpu_probe()
    database_url = recreate_database(BENCH_DB)
    os.environ.update(DATABASE_URL=database_url, LOG_LEVEL="ERROR", MARKET_FEE_PCT="1.67",
                      MARKET_STOP_MAX_DEPTH=str(max(1, min(args.stops, 1000))),
                      REDIS_URL=config.redis_url_with_db(os.environ["REDIS_URL"], args.redis_db))
    os.environ.pop("STOCKRACE_TESTING", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockrace.settings")
    import django

    django.setup()
    from datetime import timedelta
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import transaction

    from apps.core.redis import get_redis, redis_now
    from apps.markets.models import Market, MarketTrade, Stop
    from apps.markets.services import market_create, market_trade, parse_order, stop_create
    from apps.markets.state import probabilities
    from apps.markets.verify import markets_verify
    from apps.points.models import LedgerEntry, PointsAccount

    print(f"database {BENCH_DB}: migrating...", flush=True)
    call_command("migrate", verbosity=0)
    get_redis().flushdb()
    User = get_user_model()
    count = args.stops + 1
    with transaction.atomic():
        users = User.objects.bulk_create(User(username=f"stop{i:05d}", password="!") for i in range(count))
        PointsAccount.objects.bulk_create(PointsAccount(user=u) for u in users)
        fund_players([u.pk for u in users], 10_000, key="bench:")  # through the ledger module
    market = market_create(question="Bench: a cascade of stops?", kind="binary", mechanism="cpmm",
                           liquidity=Decimal(20_000), initial_probability=Decimal("0.5"),
                           closes_at=redis_now() + timedelta(hours=2))
    holders, trigger_of = users[:-1], {}
    began = time.monotonic()
    for user in holders:
        market_trade(user_id=user.pk, market_id=market.pk, order=parse_order(outcome=0, side="buy", amount=20))
    price = probabilities(Market.objects.get(pk=market.pk))[0]
    for i, user in enumerate(holders, start=1):
        trigger = (price - Decimal(str(args.spread)) * i).quantize(Decimal("1e-9"))
        trigger_of[user.pk] = stop_create(user_id=user.pk, market_id=market.pk, outcome=0, trigger=trigger).trigger
    print(f"seeded {len(holders)} holders with stops from {max(trigger_of.values())} down to "
          f"{min(trigger_of.values())} (price {price:.6f}) in {time.monotonic() - began:.1f} s", flush=True)

    before_seq = Market.objects.get(pk=market.pk).seq
    started = time.perf_counter()
    cpu_started = time.process_time()
    crossing = market_trade(user_id=users[-1].pk, market_id=market.pk,
                            order=parse_order(outcome=1, side="buy", amount=args.amount))
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started

    executions = MarketTrade.objects.filter(market=market, trigger=crossing)
    executed = executions.count()
    levels = max(executions.values_list("depth", flat=True), default=0)
    states = {s: Stop.objects.filter(market=market, state=s).count() for s in ("executed", "failed", "active",
                                                                            "cancelled")}
    after = Market.objects.get(pk=market.pk)
    print(f"\none NO buy of {args.amount} points: {executed} stops executed over {levels} levels in "
          f"{wall * 1000:.0f} ms wall ({wall * 1000 / max(executed, 1):.2f} ms per stop), {cpu * 1000:.0f} ms of this "
          f"process's CPU; trades written {after.seq - before_seq}; probability {price:.4f} -> "
          f"{probabilities(after)[0]:.4f}")
    print(f"stops: {states}")
    verify_started = time.monotonic()
    problems = markets_verify()
    from django.db.models import Sum

    balances = PointsAccount.objects.aggregate(s=Sum("balance"))["s"]
    ledger = LedgerEntry.objects.aggregate(s=Sum("amount"))["s"]
    print(f"markets_verify: {sum(len(p) for p in problems.values())} differences "
          f"({time.monotonic() - verify_started:.1f} s); sum of balances {balances} == sum of ledger {ledger}: "
          f"{balances == ledger}")
    print(f"CPU probe (10M-step Python loop): {probe_before:.2f} s before, {cpu_probe():.2f} s after — "
          "compare runs only at similar probe times")
    return 0 if not problems and balances == ledger and executed else 1


if __name__ == "__main__":
    sys.exit(main())
