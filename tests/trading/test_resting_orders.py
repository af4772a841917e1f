"""Resting orders: limits fill when the quote crosses, stops trigger on the last trade and fill at
the next quote, gaps fill at the quote, a locked symbol holds its triggered orders until the
lock lifts; cancel and day expiry."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from apps.trading import index
from apps.trading.market import LOCK_KEY, LockReason, lock_symbols
from apps.trading.models import Fill, Order, Position
from apps.trading.resting import day_orders_expire
from tests.support.ledger import balance_of
from tests.trading.conftest import order, quote

pytestmark = pytest.mark.django_db(transaction=True)


def _buy(client, qty="10", symbol="TRDA"):
    status, body = order(client, symbol=symbol, side="buy", type="market", quantity=qty)
    assert status == 201, body
    return body


def test_a_buy_limit_rests_then_fills_at_the_ask_once_it_crosses(trader_client, trader, hook, redis_client, no_fee):
    quote("TRDA", 100.0, bid=99.95, ask=100.05)
    status, body = order(trader_client, symbol="TRDA", side="buy", type="limit", quantity="2", limit_price="99.00",
                         time_in_force="gtc")
    assert status == 201 and body["status"] == "open" and body["fills"] == []
    assert redis_client.zscore(index.key("TRDA", index.BUY_LIMITS), str(body["id"])) == 99.0
    hook([quote("TRDA", 99.5, bid=99.45, ask=99.55)])  # not crossed yet
    assert Order.objects.get(pk=body["id"]).status == "open"
    hook([quote("TRDA", 98.7, bid=98.65, ask=98.75)])  # the ask gapped under the limit: fills at the ask
    filled = Order.objects.get(pk=body["id"])
    assert filled.status == "filled" and filled.fill.price == Decimal("98.75")
    assert balance_of(trader) == 10_000 - 198  # 2 × 98.75 = 197.5, rounded up
    assert redis_client.zscore(index.key("TRDA", index.BUY_LIMITS), str(body["id"])) is None


def test_a_stop_triggers_on_the_last_trade_and_fills_at_the_next_quote(trader_client, trader, hook, no_fee):
    quote("TRDA", 100.0, bid=99.9, ask=100.1)
    _buy(trader_client)
    status, body = order(trader_client, symbol="TRDA", side="sell", type="stop", quantity="10", stop_price="95",
                         time_in_force="gtc")
    assert status == 201 and body["status"] == "open"
    hook([quote("TRDA", 95.5, bid=94.0, ask=95.6)])  # the bid is below the stop, the last trade is not
    assert Order.objects.get(pk=body["id"]).status == "open"
    hook([quote("TRDA", 94.9, bid=94.8, ask=95.0)])  # last trade at or below 95: triggered, not filled yet
    stop = Order.objects.get(pk=body["id"])
    assert stop.status == "triggered" and stop.trigger_price == Decimal("94.9")
    hook([quote("TRDA", 93.0, bid=92.9, ask=93.1)])  # the next quote: fills as a market order at the bid
    stop.refresh_from_db()
    assert stop.status == "filled" and stop.fill.price == Decimal("92.9")
    assert Position.objects.get(user=trader, symbol="TRDA").quantity == 0
    assert stop.fill.realized_pnl == Decimal("-72")  # (92.9 − 100.1) × 10


def test_a_gap_through_the_stop_fills_at_the_quote_not_the_stop(trader_client, hook, no_fee):
    quote("TRDA", 100.0, spread=0.05)
    _buy(trader_client)
    _, body = order(trader_client, symbol="TRDA", side="sell", type="stop", quantity="10", stop_price="95")
    hook([quote("TRDA", 80.0, spread=0.1)])
    hook([quote("TRDA", 79.0, spread=0.1)])
    fill = Fill.objects.get(order_id=body["id"])
    assert fill.price == Decimal("78.9")


def test_a_stop_limit_rests_as_a_limit_after_its_trigger(trader_client, hook, no_fee):
    quote("TRDA", 100.0, spread=0.05)
    _buy(trader_client)
    _, body = order(trader_client, symbol="TRDA", side="sell", type="stop_limit", quantity="10", stop_price="95",
                    limit_price="94")
    hook([quote("TRDA", 93.0, spread=0.05)])  # triggers; the bid 92.95 is under the limit
    hook([quote("TRDA", 93.5, spread=0.05)])
    assert Order.objects.get(pk=body["id"]).status == "triggered"
    hook([quote("TRDA", 94.2, spread=0.05)])  # bid 94.15 >= 94
    assert Fill.objects.get(order_id=body["id"]).price == Decimal("94.15")


def test_triggered_orders_wait_for_the_lock_to_lift_then_fill_at_that_quote(trader_client, hook, redis_client, no_fee):
    quote("TRDA", 100.0, spread=0.05)
    _buy(trader_client)
    _, body = order(trader_client, symbol="TRDA", side="sell", type="stop", quantity="10", stop_price="95")
    lock_symbols(redis_client, ["TRDA"], reason=LockReason.JUMP, now=0, seconds=60)
    hook([quote("TRDA", 94.0, spread=0.05)])  # triggers while locked
    hook([quote("TRDA", 93.0, spread=0.05)])  # would fill, but the symbol is locked
    assert Order.objects.get(pk=body["id"]).status == "triggered"
    redis_client.delete(LOCK_KEY.format("TRDA"))  # the lock lifts
    hook([quote("TRDA", 96.0, spread=0.05)])  # the quote of that moment, back above the stop
    assert Fill.objects.get(order_id=body["id"]).price == Decimal("95.95")


def test_a_marketable_limit_fills_when_placed(trader_client, no_fee):
    quote("TRDA", 100.0, bid=99.9, ask=100.1)
    status, body = order(trader_client, symbol="TRDA", side="buy", type="limit", quantity="1", limit_price="101")
    assert status == 201 and body["status"] == "filled" and body["fills"][0]["price"] == "100.1"


def test_cancel_takes_a_resting_order_out_and_a_second_cancel_is_refused(trader_client, redis_client):
    quote("TRDA", 100.0, spread=0.05)
    _, body = order(trader_client, symbol="TRDA", side="buy", type="limit", quantity="1", limit_price="90")
    response = trader_client.delete(f"/api/v1/orders/{body['id']}/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert redis_client.zscore(index.key("TRDA", index.BUY_LIMITS), str(body["id"])) is None
    again = trader_client.delete(f"/api/v1/orders/{body['id']}/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_cancellable"
    assert trader_client.delete("/api/v1/orders/999999/").status_code == 404


def test_someone_elses_order_cannot_be_cancelled(trader_client, api_client, stocks):
    from tests.support.factories import UserFactory

    quote("TRDA", 100.0, spread=0.05)
    _, body = order(trader_client, symbol="TRDA", side="buy", type="limit", quantity="1", limit_price="90")
    other = UserFactory()
    api_client.force_authenticate(other)
    assert api_client.delete(f"/api/v1/orders/{body['id']}/").status_code == 404
    assert Order.objects.get(pk=body["id"]).status == "open"


def test_day_orders_expire_at_the_close_and_gtc_orders_stay(trader_client):
    quote("TRDA", 100.0, spread=0.05)
    _, day = order(trader_client, symbol="TRDA", side="buy", type="limit", quantity="1", limit_price="90")
    _, gtc = order(trader_client, symbol="TRDA", side="buy", type="limit", quantity="1", limit_price="90",
                   time_in_force="gtc")
    assert day["expires_at"] is not None and gtc["expires_at"] is None
    assert day_orders_expire() == 0
    Order.objects.filter(pk=day["id"]).update(expires_at=Order.objects.get(pk=day["id"]).created_at - timedelta(1))
    assert day_orders_expire() == 1
    assert Order.objects.get(pk=day["id"]).status == "expired"
    assert Order.objects.get(pk=gtc["id"]).status == "open"


def test_a_resting_buy_that_cannot_be_paid_when_it_fills_is_rejected(trader_client, trader, hook, no_fee):
    from apps.points import ledger

    quote("TRDA", 100.0, spread=0.05)
    _, body = order(trader_client, symbol="TRDA", side="buy", type="limit", quantity="50", limit_price="90")
    ledger.debit(user_id=trader.pk, amount=9_000, kind="adjustment", key="test-spend")  # spent elsewhere meanwhile
    hook([quote("TRDA", 89.0, spread=0.05)])
    rejected = Order.objects.get(pk=body["id"])
    assert rejected.status == "rejected" and "Not enough points" in rejected.reason
    assert balance_of(trader) == 1_000
