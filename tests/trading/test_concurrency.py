"""Concurrency on real PostgreSQL with real threads: many orders against one balance, one stop
triggered twice at once, an order and its cancel racing."""
from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from apps.core.redis import get_redis
from apps.points.models import LedgerEntry
from apps.trading.models import Fill, Order
from apps.trading.resting import Outcome, resting_fill
from apps.trading.rules import OrderRefused, parse_order
from apps.trading.services import order_cancel, order_place
from tests.support.factories import UserFactory
from tests.support.ledger import assert_ledger_balanced, balance_of
from tests.trading.conftest import quote

pytestmark = pytest.mark.django_db(transaction=True)


def _in_threads(count: int, fn):
    """Run ``fn(i)`` in ``count`` threads released together; returns the results (or exceptions)."""
    barrier = threading.Barrier(count)

    def run(i):
        try:
            barrier.wait(timeout=30)
            return fn(i)
        except Exception as exc:  # noqa: BLE001 - returned for the test to inspect
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_a_hundred_concurrent_orders_against_one_balance(stocks, settings):
    settings.TRADE_FEE_BPS = 10
    user = UserFactory(balance=1_000)
    quote("TRDA", 100.0, bid=100.0, ask=100.0)
    quote("TRDB", 50.0, bid=50.0, ask=50.0)
    # Buys of TRDA cost 101 points each (fee 1); short sales of TRDB lock 75 for 50 of proceeds
    # and a fee of 1: 6,350 points asked of 1,000.

    def place(i):
        body = {"symbol": "TRDA", "side": "buy"} if i % 2 == 0 else {"symbol": "TRDB", "side": "sell_short"}
        return order_place(user_id=user.pk, spec=parse_order({**body, "type": "market", "quantity": "1"}),
                           idempotency_key=f"race-{i}")

    results = _in_threads(100, place)
    refused = [r for r in results if isinstance(r, OrderRefused)]
    placed = [r for r in results if isinstance(r, tuple)]
    unexpected = [r for r in results if not isinstance(r, (OrderRefused, tuple))]
    assert unexpected == []
    assert {r.code for r in refused} <= {"insufficient_points"}
    assert placed and refused  # the balance ran out part way
    balance = balance_of(user)  # == the sum of the ledger, asserted
    assert 0 <= balance
    fills = Fill.objects.filter(user=user)
    assert fills.count() == len(placed) == Order.objects.filter(user=user).count()
    moved = sum(f.cash - f.fee - f.collateral_locked + f.collateral_released for f in fills)
    assert balance == 1_000 + moved
    # Nothing of a refused order was written: every trade entry belongs to a filled order.
    keys = set(LedgerEntry.objects.filter(user=user, kind__startswith="trade").values_list("idempotency_key", flat=True))
    assert {k.split(":")[1] for k in keys} == {str(o.pk) for o in Order.objects.filter(user=user)}
    assert_ledger_balanced()


def _triggered_stop(user, *, qty="5"):
    quote("TRDA", 100.0, bid=100.0, ask=100.0)
    order_place(user_id=user.pk, spec=parse_order({"symbol": "TRDA", "side": "buy", "type": "market", "quantity": qty}))
    placed, _ = order_place(user_id=user.pk, spec=parse_order(
        {"symbol": "TRDA", "side": "sell", "type": "stop", "quantity": qty, "stop_price": "95", "time_in_force": "gtc"}))
    Order.objects.filter(pk=placed.pk).update(status="triggered", trigger_price=Decimal("94.5"))
    quote("TRDA", 94.0, bid=93.9, ask=94.1)
    return placed


def test_the_same_stop_triggered_twice_at_once_fills_once(stocks, settings):
    settings.TRADE_FEE_BPS = 10
    user = UserFactory(balance=10_000)
    for _ in range(5):
        stop = _triggered_stop(user)
        before = balance_of(user)
        outcomes = _in_threads(2, lambda i, stop=stop: resting_fill(order_id=stop.pk, symbol="TRDA",
                                                                         client=get_redis()))
        assert sorted(o.value for o in outcomes) == ["filled", "gone"], outcomes
        fill = Fill.objects.get(order=stop)
        assert balance_of(user) == before + fill.cash - fill.fee
        assert LedgerEntry.objects.filter(idempotency_key__startswith=f"trade:{stop.pk}:").count() == 2
    assert Fill.objects.filter(user=user, side="sell").count() == 5


def test_an_order_and_its_cancel_racing_end_in_exactly_one_outcome(stocks, settings):
    settings.TRADE_FEE_BPS = 0
    user = UserFactory(balance=100_000)
    seen = Counter()
    for _ in range(20):
        quote("TRDA", 100.0, bid=100.0, ask=100.0)
        resting, _ = order_place(user_id=user.pk, spec=parse_order(
            {"symbol": "TRDA", "side": "buy", "type": "limit", "quantity": "1", "limit_price": "99"}))
        quote("TRDA", 98.0, bid=98.0, ask=98.0)  # now it crosses
        before = balance_of(user)

        def act(i, resting=resting):
            if i == 0:
                return resting_fill(order_id=resting.pk, symbol="TRDA", client=get_redis())
            return order_cancel(user_id=user.pk, order_id=resting.pk)

        filled, cancelled = _in_threads(2, act)
        resting.refresh_from_db()
        if resting.status == "filled":
            assert filled is Outcome.FILLED
            assert isinstance(cancelled, OrderRefused) and cancelled.code == "not_cancellable"
            assert balance_of(user) == before - 98
        else:
            assert resting.status == "cancelled" and filled is Outcome.GONE
            assert not Fill.objects.filter(order=resting).exists() and balance_of(user) == before
        seen[resting.status] += 1
    assert sum(seen.values()) == 20
