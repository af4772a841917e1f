"""The trade lock: a jump within a few seconds, a feed that went stale and a data gap each lock
the symbol for TRADE_LOCK_SECONDS; new orders are refused with the time it lifts."""
from __future__ import annotations

from datetime import timedelta

import pytest

from apps.core.redis import get_redis, redis_now
from apps.feed.models import DataGap
from apps.market.quotes import Quote
from apps.trading.locks import LockDetector
from apps.trading.market import LOCK_KEY, LockReason, market_state
from apps.trading.triggers import Executor, TriggerHook
from tests.trading.conftest import order, quote


def q(symbol, price, t):
    return Quote(symbol=symbol, price=price, bid=price, ask=price, volume=0, ts=t, recv=t)


def test_a_jump_within_the_window_locks_and_a_slow_drift_does_not():
    detector = LockDetector(jump_pct=2.0, window_seconds=5, stale_seconds=10)
    drift = [q("AAA", 100 * 1.005 ** i, 1000 + 3 * i) for i in range(20)]  # +0.5 % every 3 s: 10 % in a minute
    assert [detector.observe([x]) for x in drift] == [[]] * 20
    assert detector.observe([q("BBB", 100, 2000)]) == []
    assert detector.observe([q("BBB", 101, 2001)]) == []
    assert detector.observe([q("BBB", 102.5, 2003)]) == [("BBB", LockReason.JUMP)]  # +2.5 % in 3 s
    assert detector.observe([q("BBB", 102.6, 2004)]) == []  # measured from the jump on
    assert detector.observe([q("CCC", 100, 3000), q("CCC", 97.9, 3004)]) == [("CCC", LockReason.JUMP)]  # down too


def test_a_feed_back_from_stale_locks():
    detector = LockDetector(jump_pct=2.0, window_seconds=5, stale_seconds=10)
    assert detector.observe([q("AAA", 100, 1000)]) == []
    assert detector.observe([q("AAA", 100, 1009)]) == []
    assert detector.observe([q("AAA", 100.1, 1020)]) == [("AAA", LockReason.STALE)]


@pytest.mark.django_db(transaction=True)
def test_the_hook_locks_a_jumping_symbol_and_orders_are_refused_until_it_lifts(trader_client, settings, redis_client):
    settings.TRADE_LOCK_JUMP_PCT = 2.0
    settings.TRADE_LOCK_SECONDS = 60
    hook = TriggerHook(redis=get_redis(), executor=Executor(get_redis()))
    hook([quote("TRDA", 100.0, spread=0.05)])
    assert redis_client.get(LOCK_KEY.format("TRDA")) is None
    hook([quote("TRDA", 103.0, spread=0.05)])
    state = market_state("TRDA")
    assert state.lock["reason"] == LockReason.JUMP and 59 <= state.lock["until"] - state.now <= 60
    status, body = order(trader_client, symbol="TRDA", side="buy", type="market", quantity="1")
    assert status == 409 and body["error"]["code"] == "symbol_locked"
    assert 55 <= redis_client.pttl(LOCK_KEY.format("TRDA")) / 1000 <= 60
    redis_client.delete(LOCK_KEY.format("TRDA"))  # as its TTL would
    assert order(trader_client, symbol="TRDA", side="buy", type="market", quantity="1")[0] == 201


@pytest.mark.django_db(transaction=True)
def test_a_recorded_data_gap_locks_every_listed_symbol(trader_client, settings, stocks):
    settings.TRADE_LOCK_SECONDS = 60
    executor = Executor(get_redis())
    executor.gap_seen = redis_now() - timedelta(seconds=60)
    now = redis_now()
    DataGap.objects.create(start=now - timedelta(seconds=30), end=now, reason="disconnect")
    executor.lock_gaps()
    for symbol in ("TRDA", "TRDB", "TRDC"):
        state = market_state(symbol)
        assert state.lock and state.lock["reason"] == LockReason.GAP
    quote("TRDB", 50.0, spread=0.05)
    status, body = order(trader_client, symbol="TRDB", side="buy", type="market", quantity="1")
    assert status == 409 and "market data went missing" in body["error"]["message"]
    # Gaps seen once: a second check locks nothing new.
    get_redis().delete(LOCK_KEY.format("TRDB"))
    executor.lock_gaps()
    assert market_state("TRDB").lock is None


@pytest.mark.django_db
def test_a_disconnected_feed_refuses_orders_as_stale(trader_client, redis_client):
    from apps.market.quotes import FEED_KEY

    quote("TRDA", 100.0, spread=0.05)
    redis_client.hset(FEED_KEY, "connected", 0)
    status, body = order(trader_client, symbol="TRDA", side="buy", type="market", quantity="1")
    assert status == 409 and body["error"]["code"] == "quote_stale"


@pytest.mark.django_db(transaction=True)
def test_nothing_fills_at_the_first_prices_after_a_gap(trader_client, hook, settings, redis_client):
    """The worker restarts: a gap is recorded just before the first batch after it. A stop that
    batch triggers waits for the gap's lock instead of filling at once."""
    from apps.trading.models import Order

    settings.TRADE_FEE_BPS = 0
    quote("TRDA", 100.0, bid=100.0, ask=100.0)
    order(trader_client, symbol="TRDA", side="buy", type="market", quantity="1")
    _, stop = order(trader_client, symbol="TRDA", side="sell", type="stop", quantity="1", stop_price="95")
    hook([quote("TRDA", 94.0, bid=94.0, ask=94.0)])  # triggered
    now = redis_now()
    DataGap.objects.create(start=now - timedelta(seconds=20), end=now, reason="disconnect")
    hook.executor.real.last_gap_check = 0
    hook([quote("TRDA", 93.0, bid=93.0, ask=93.0)])  # would fill; the gap's lock comes first
    assert Order.objects.get(pk=stop["id"]).status == "triggered"
    assert market_state("TRDA").lock["reason"] == LockReason.GAP
    redis_client.delete(LOCK_KEY.format("TRDA"))
    hook([quote("TRDA", 92.0, bid=92.0, ask=92.0)])
    assert Order.objects.get(pk=stop["id"]).status == "filled"
