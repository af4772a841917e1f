"""Two writers flushing overlapping candles at once lose nothing and do not deadlock."""
from __future__ import annotations

import random
import threading
from datetime import datetime, timezone

import pytest
from django.db import connection

from apps.market.candles import CandleBuilder
from apps.market.models import Candle, Stock

T0 = datetime(2019, 2, 13, 15, 0, tzinfo=timezone.utc).timestamp()


@pytest.mark.django_db(transaction=True)
def test_concurrent_flushes_add_up():
    symbols = [f"C{i}" for i in range(20)]
    Stock.objects.bulk_create(Stock(symbol=s, name=s, sector="Test") for s in symbols)
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def writer(seed: int) -> None:
        try:
            rng = random.Random(seed)
            builder = CandleBuilder()
            barrier.wait()
            for _ in range(10):
                # Symbols in a different order in each writer: the sorted upsert keeps one lock order.
                for symbol in rng.sample(symbols, len(symbols)):
                    for _ in range(5):
                        builder.add_trade(symbol, T0 + rng.uniform(0, 600), rng.uniform(90, 110), 1)
                builder.flush()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    # 2 writers x 10 rounds x 20 symbols x 5 trades of size 1, all inside 15:00-15:10 UTC.
    for interval in ("1m", "5m", "15m", "1h", "1d", "1w", "1M"):
        total = sum(Candle.objects.filter(interval=interval).values_list("volume", flat=True))
        assert total == 2000, interval
    assert Candle.objects.filter(interval="1h").count() == 20
