"""Running races with locked open prices and live quotes, created directly for live-room tests."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from apps.core.redis import get_redis, redis_now, redis_now_ts
from apps.market.models import Stock
from apps.market.quotes import Quote, write_quote
from apps.races.models import Race, RaceEntry


def running_race(symbols=("AAA", "BBB", "CCC"), open_prices=(100, 50, 10), *, minutes=5,
                 state=Race.State.RUNNING, title="Test race") -> Race:
    now = redis_now()
    race = Race.objects.create(title=title, duration=Race.Duration.SPRINT_5M, state=state,
                               betting_opens_at=now - timedelta(minutes=10), starts_at=now - timedelta(seconds=5),
                               ends_at=now + timedelta(minutes=minutes))
    for lane, (symbol, price) in enumerate(zip(symbols, open_prices), start=1):
        stock, _ = Stock.objects.get_or_create(symbol=symbol, defaults={"name": f"{symbol} Inc", "sector": "Tech"})
        RaceEntry.objects.create(race=race, stock=stock, lane=lane,
                                 open_price=Decimal(price) if state == Race.State.RUNNING else None)
    return race


def quote(symbol: str, price: float, *, age: float = 0.0) -> None:
    client = get_redis()
    now = redis_now_ts(client)
    pipe = client.pipeline(transaction=False)
    write_quote(pipe, Quote(symbol=symbol, price=price, bid=None, ask=None, volume=0, ts=now - age, recv=now - age))
    pipe.execute()
