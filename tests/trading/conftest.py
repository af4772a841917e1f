"""Fixtures of the trading tests: listed stocks, fresh quotes with a spread, funded players."""
from __future__ import annotations

import pytest
from django.conf import settings

from apps.core.redis import get_redis, redis_now_ts
from apps.market.quotes import Quote, write_quote
from tests.support.factories import StockFactory, UserFactory

# Symbols of the trading tests' own: quotes are published on channels every Redis database shares.
SYMBOLS = ("TRDA", "TRDB", "TRDC")


def quote(symbol: str, price: float, *, bid: float | None = None, ask: float | None = None, age: float = 0.0,
          spread: float = 0.0) -> Quote:
    """Write one live quote as the market-data worker would (``age`` seconds old); returns it."""
    client = get_redis()
    now = redis_now_ts(client) - age
    q = Quote(symbol=symbol, price=price, bid=bid if bid is not None else round(price - spread, 4),
              ask=ask if ask is not None else round(price + spread, 4), volume=0, ts=now, recv=now)
    pipe = client.pipeline(transaction=False)
    write_quote(pipe, q)
    pipe.execute()
    return q


@pytest.fixture
def stocks(db):
    return [StockFactory(symbol=s, name=f"{s} Industries", reference_price=100) for s in SYMBOLS]


@pytest.fixture
def trader(db, stocks):
    return UserFactory(username="trader", balance=10_000)


@pytest.fixture
def trader_client(api_client, trader):
    api_client.force_authenticate(trader)
    return api_client


@pytest.fixture
def no_fee(settings):
    settings.TRADE_FEE_BPS = 0
