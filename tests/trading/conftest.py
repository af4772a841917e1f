"""Fixtures of the trading tests: listed stocks, fresh quotes with a spread, funded players."""
from __future__ import annotations

import pytest

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


class InlineExecutor:
    """The trading executor without its thread: each batch's findings are worked at once, in the
    test's thread (the real thread runs the same ``work``)."""

    def __init__(self, client):
        from apps.trading.triggers import Executor

        self.real = Executor(client)

    def submit(self, found, last):
        self.real.submit(found, last)
        while not self.real.queue.empty():
            self.real.work(*self.real.queue.get())


@pytest.fixture
def hook(db, settings):
    """The market-data worker's trading hook, its executor inline. Prices in these tests move in
    big steps: the jump lock is set far out of their way (tests of the lock set their own)."""
    from apps.trading.triggers import TriggerHook

    settings.TRADE_LOCK_JUMP_PCT = 90.0
    client = get_redis()
    return TriggerHook(redis=client, executor=InlineExecutor(client))


def order(client, **body):
    """POST /api/v1/orders/ and return (status, json)."""
    response = client.post("/api/v1/orders/", body, format="json")
    return response.status_code, response.json()
