"""Shared set-up for the live-room benchmarks: a bench database, running races, live quotes.

Uses its own PostgreSQL database (``bench_live``, created and migrated on first use, kept
afterwards) and the Redis database REDIS_TEST_DB (6 by default), which it FLUSHES: never
point it at the demo's database.
"""
from __future__ import annotations

import os
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockrace.settings")
os.environ["STOCKRACE_TESTING"] = "1"  # Redis on REDIS_TEST_DB, exported to child processes
os.environ.setdefault("REDIS_TEST_DB", "6")
os.environ.setdefault("STOCKRACE_TEST_DB_NAME", "bench_live")
os.environ.setdefault("LOG_LEVEL", "WARNING")


def setup_django():
    import django

    django.setup()
    from django.db import connection

    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=True)
    return connection


def child_env() -> dict:
    """The servers' and engine's environment: this bench database and Redis db (tests/support)."""
    from tests.support.env import child_env as support_child_env

    return support_child_env()


def create_races(count: int, stocks_per_race: int = 5, symbols: int = 200) -> list[int]:
    """``count`` running races with locked open prices, over a pool of ``symbols`` stocks."""
    from apps.core.redis import get_redis, redis_now
    from apps.market.models import Stock
    from apps.races.models import Race, RaceEntry

    get_redis().flushdb()
    Race.objects.all().delete()
    names = [f"B{i:03d}" for i in range(symbols)]
    existing = set(Stock.objects.filter(symbol__in=names).values_list("symbol", flat=True))
    Stock.objects.bulk_create(Stock(symbol=s, name=f"Bench {s}", sector="Bench") for s in names if s not in existing)
    stocks = list(Stock.objects.filter(symbol__in=names).order_by("symbol"))
    now = redis_now()
    races = Race.objects.bulk_create(
        Race(title=f"Bench {i}", duration=Race.Duration.HOUR_1H, state=Race.State.RUNNING,
             betting_opens_at=now - timedelta(minutes=10), starts_at=now - timedelta(seconds=1),
             ends_at=now + timedelta(hours=1))
        for i in range(count))
    RaceEntry.objects.bulk_create(
        RaceEntry(race=race, stock=stocks[(i * stocks_per_race + lane) % len(stocks)], lane=lane + 1,
                  open_price=Decimal("100"))
        for i, race in enumerate(races) for lane in range(stocks_per_race))
    refresh_quotes(names)
    return [race.id for race in races]


def refresh_quotes(symbols: list[str] | None = None, *, step: int = 0) -> None:
    """Write a fresh quote for every bench symbol (so frames are not stale and positions move)."""
    import math

    from apps.core.redis import get_redis, redis_now_ts
    from apps.market.quotes import Quote, write_quote

    symbols = symbols or [f"B{i:03d}" for i in range(200)]
    client = get_redis()
    now = redis_now_ts(client)
    pipe = client.pipeline(transaction=False)
    for i, symbol in enumerate(symbols):
        price = round(100 * (1 + 0.01 * math.sin(step / 5 + i)), 4)
        write_quote(pipe, Quote(symbol=symbol, price=price, bid=None, ask=None, volume=0, ts=now, recv=now))
    pipe.execute()
