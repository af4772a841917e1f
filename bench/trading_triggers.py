"""Benchmark: checking 100,000 resting stop and limit orders over 100 symbols on every quote batch,
in the market-data worker's code path.

    .venv/bin/python bench/trading_triggers.py                     # defaults below
    .venv/bin/python bench/trading_triggers.py --orders 200000 --batches 5000

What it does:
1. creates a database of its own (``bench_trading_triggers``) and migrates it;
2. writes ``--orders`` resting orders over ``--symbols`` symbols (a quarter each of buy limits
   under the price, sell limits over it, sell stops under and buy stops over, 0.2 % to 25 %
   away), and rebuilds the Redis trigger index from them (the worker does that at start; timed);
3. runs ``--batches`` quote batches through the worker's own flush (apps.feed.ingest.Ingestor
   .flush_redis: every symbol changed, a random walk of about 0.02 % a batch), with the trading
   hook (apps.trading.triggers.TriggerHook: lock detection and the trigger script) and, for
   comparison, without any hook; the executor is a stand-in that counts what the hook hands it
   and takes fill candidates out of the index after each batch, as their fills would (this
   measures the check, not the fills, which run on their own thread);
4. reports the hook's cost per batch (p50, p99, max: target p99 under 5 ms), the whole flush with
   and without it, a bare Redis PING's round trip (the host's own noise), the triggers and fill
   candidates found, and the CPU probe.

Most symbols cost nothing in most batches: the hook keeps a copy of each symbol's nearest
trigger prices and sends the script only the symbols a quote reaches (apps/trading/index.py).
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from decimal import Decimal

from _support import BASE_DIR, cpu_probe, django_setup, recreate_database

BENCH_DB = "bench_trading_triggers"


def seed(orders: int, symbols: int) -> list[str]:
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from apps.core.redis import get_redis
    from apps.market.models import Stock
    from apps.trading.models import Order

    get_redis().flushdb()
    names = [f"TT{n:03d}" for n in range(symbols)]
    users = get_user_model().objects.bulk_create(get_user_model()(username=f"resting{i:04d}", password="!")
                                                 for i in range(1000))
    Stock.objects.bulk_create(Stock(symbol=s, name=s, sector="Technology", reference_price=100) for s in names)
    rng = random.Random(3)
    kinds = [("buy", "limit", -1), ("sell", "limit", 1), ("sell", "stop", -1), ("buy", "stop", 1)]
    batch = []
    with transaction.atomic():
        for i in range(orders):
            side, kind, direction = kinds[i % 4]
            price = (Decimal(100) * (1 + direction * Decimal(rng.uniform(0.002, 0.25)))).quantize(Decimal("0.01"))
            batch.append(Order(user=users[i % len(users)], symbol=names[i % symbols], side=side, type=kind,
                               quantity=Decimal(1), time_in_force="gtc", status="open",
                               limit_price=price if kind == "limit" else None,
                               stop_price=price if kind == "stop" else None))
            if len(batch) == 10_000:
                Order.objects.bulk_create(batch)
                batch = []
        Order.objects.bulk_create(batch)
    return names


class CountingExecutor:
    """Stands in for the executor thread: counts what the hook hands over, and takes the fill
    candidates out of the index after each timed batch, as their fills would (``settle``)."""

    def __init__(self, client):
        self.client = client
        self.triggered = self.fills = self.buy_ins = 0
        self.pending: list[tuple[str, int]] = []

    def submit(self, found, last):
        self.triggered += len(found.triggered)
        self.fills += len(found.fills)
        self.buy_ins += len(found.buy_ins)
        self.pending += found.fills

    def settle(self):
        from apps.trading import index

        if self.pending:
            pipe = self.client.pipeline(transaction=False)
            for symbol, order_id in self.pending:
                index.order_remove(self.client, order_id=order_id, symbol=symbol, pipe=pipe)
            pipe.execute()
            self.pending = []


def percentiles(values: list[float]) -> str:
    values = sorted(values)
    pick = lambda q: values[min(len(values) - 1, int(q * len(values)))] * 1000  # noqa: E731
    return f"p50 {pick(0.5):.2f} ms, p90 {pick(0.9):.2f} ms, p99 {pick(0.99):.2f} ms, max {values[-1] * 1000:.2f} ms"


def run_batches(ingestor, names: list[str], batches: int, rng: random.Random, settle=lambda: None) -> list[float]:
    from apps.feed.ingest import ASK, BID, PRICE, RECV, TS

    timings = []
    now = time.time()
    for n in range(batches):
        t = now + n * 0.05
        for symbol in names:
            state = ingestor.book[symbol]
            price = round(state[PRICE] * (1 + rng.gauss(0, 0.0002)), 2)
            state[PRICE], state[BID], state[ASK], state[TS], state[RECV] = price, price - 0.01, price + 0.01, t, t
            ingestor.dirty.add(symbol)
        started = time.perf_counter()
        ingestor.flush_redis()
        timings.append(time.perf_counter() - started)
        settle()
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--redis-db", type=int, default=6, help="Redis database for the run (flushed)")
    args = parser.parse_args()

    from stockrace import config

    probe_before = cpu_probe()
    database_url = recreate_database(BENCH_DB)
    redis_url = config.redis_url_with_db(os.environ["REDIS_URL"], args.redis_db)
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "LOG_LEVEL": "ERROR"}
    env.pop("STOCKRACE_TESTING", None)
    print(f"database {BENCH_DB}, redis db {args.redis_db}: migrating...", flush=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=BASE_DIR, env=env, check=True)
    os.environ["REDIS_URL"] = redis_url
    os.environ["LOG_LEVEL"] = "ERROR"
    django_setup(database_url)
    from django.conf import settings

    from apps.core.redis import get_redis
    from apps.feed.ingest import Ingestor
    from apps.feed.snapshots import SnapshotGrid
    from apps.providers import AlpacaProvider
    from apps.trading import index
    from apps.trading.triggers import TriggerHook

    started = time.perf_counter()
    names = seed(args.orders, args.symbols)
    print(f"{args.orders} resting orders over {len(names)} symbols written in {time.perf_counter() - started:.1f} s",
          flush=True)
    client = get_redis()
    started = time.perf_counter()
    counts = index.index_rebuild(client, maintenance_pct=settings.TRADE_SHORT_MAINTENANCE_PCT)
    print(f"trigger index rebuilt from PostgreSQL in {time.perf_counter() - started:.2f} s ({counts['added']} entries)")

    executor = CountingExecutor(client)
    hook = TriggerHook(redis=client, executor=executor)
    hook_times: list[float] = []

    def timed_hook(batch):
        began = time.perf_counter()
        hook(batch)
        hook_times.append(time.perf_counter() - began)

    def ingestor(hooks):
        grid = SnapshotGrid(active_seconds=1, idle_seconds=15, max_fill=10)
        ing = Ingestor(provider=AlpacaProvider(), redis=client, grid=grid, quote_hooks=hooks)
        for symbol in names:
            ing.book[symbol] = [100.0, 99.99, 100.01, 0, time.time(), time.time(), 0]
        return ing

    client.script_load(index.CHECK_LUA)
    run_batches(ingestor([timed_hook]), names, 50, random.Random(1), executor.settle)  # warm-up
    hook_times.clear()
    with_hook = run_batches(ingestor([timed_hook]), names, args.batches, random.Random(2), executor.settle)
    without = run_batches(ingestor([]), names, args.batches, random.Random(2))
    pings = []
    for _ in range(args.batches):  # the machine's own noise: a bare Redis round trip, same run
        began = time.perf_counter()
        client.ping()
        pings.append(time.perf_counter() - began)
    remaining = sum(client.zcard(index.key(s, k)) for s in names for k in index.SORTED)
    examined = len(hook.checker.bounds)

    print(f"\n{args.batches} batches of {len(names)} quotes, {args.orders} resting orders, {os.cpu_count()} CPUs")
    print(f"trading hook per batch (lock detection + one trigger-script round trip): {percentiles(hook_times)}")
    print(f"  worker flush with the hook:    {percentiles(with_hook)}")
    print(f"  worker flush without any hook: {percentiles(without)}")
    print(f"  a bare Redis PING, for the host's noise: {percentiles(pings)}")
    print(f"  found: {executor.triggered} stops triggered, {executor.fills} fill candidates, {executor.buy_ins} buy-ins;"
          f" {remaining} entries left in the index ({examined} symbols with a copy of their nearest prices)")
    hook_times.sort()
    p99 = hook_times[int(0.99 * len(hook_times))] * 1000
    print(f"CPU probe (10M-step Python loop): {probe_before:.2f} s before, {cpu_probe():.2f} s after — "
          "compare runs only at similar probe times")
    print(f"target p99 < 5 ms: {'met' if p99 < 5 else 'NOT met'} ({p99:.2f} ms on this run; the host varies: see the CPU probe)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
