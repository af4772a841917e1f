"""Market orders: fill at the ask or bid of a fresh quote, points through the ledger, the fee."""
from __future__ import annotations

from decimal import Decimal

import pytest

from apps.points.models import LedgerEntry
from apps.trading.models import Fill, Order, Position
from tests.support.ledger import balance_of
from tests.trading.conftest import order, quote

pytestmark = pytest.mark.django_db


def test_a_market_buy_fills_at_the_ask_and_debits_cost_and_fee(trader_client, trader, settings):
    settings.TRADE_FEE_BPS = 10
    quote("TRDA", 100.0, bid=99.9, ask=100.1)
    response = trader_client.post("/api/v1/orders/", {"symbol": "TRDA", "side": "buy", "type": "market",
                                                      "quantity": "2.5"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "filled"
    [fill] = body["fills"]
    assert fill["price"] == "100.1" and fill["quantity"] == "2.5"
    # 2.5 × 100.1 = 250.25 → 251 points (costs round up); fee 10 bp of 250.25 = 0.25 → 1.
    assert fill["cash"] == -251 and fill["fee"] == 1
    assert balance_of(trader) == 10_000 - 252
    kinds = list(LedgerEntry.objects.filter(user=trader, kind__startswith="trade").values_list("kind", "amount"))
    assert sorted(kinds) == [("trade_buy", -251), ("trade_fee", -1)]
    position = Position.objects.get(user=trader, symbol="TRDA")
    assert position.quantity == Decimal("2.5") and position.avg_cost == Decimal("100.1")


def test_a_sale_fills_at_the_bid_and_realizes_against_the_average_cost(trader_client, trader, no_fee):
    quote("TRDA", 100.0, bid=99.9, ask=100.1)
    order(trader_client, symbol="TRDA", side="buy", type="market", quantity="4")
    quote("TRDA", 110.0, bid=109.9, ask=110.1)
    order(trader_client, symbol="TRDA", side="buy", type="market", quantity="4")
    position = Position.objects.get(user=trader, symbol="TRDA")
    assert position.avg_cost == Decimal("105.1")  # (4 × 100.1 + 4 × 110.1) / 8
    quote("TRDA", 120.0, bid=119.9, ask=120.1)
    status, body = order(trader_client, symbol="TRDA", side="sell", type="market", quantity="6")
    assert status == 201
    fill = body["fills"][0]
    assert fill["price"] == "119.9" and fill["realized_pnl"] == "88.8"  # (119.9 − 105.1) × 6
    assert fill["cash"] == 719  # 6 × 119.9 = 719.4, proceeds round down
    position.refresh_from_db()
    assert position.quantity == 2 and position.avg_cost == Decimal("105.1")  # unchanged on reducing
    assert position.realized_pnl == Decimal("88.8")
    assert balance_of(trader) == 10_000 - 401 - 441 + 719


def test_a_stale_quote_is_refused_with_its_reason_and_nothing_is_written(trader_client, trader, settings):
    settings.TRADE_MAX_QUOTE_AGE_SECONDS = 3
    quote("TRDA", 100.0, spread=0.05, age=5)
    status, body = order(trader_client, symbol="TRDA", side="buy", type="market", quantity="1")
    assert status == 409 and body["error"]["code"] == "quote_stale"
    assert " s old (the limit is 3 s)" in body["error"]["message"]
    assert not Order.objects.exists() and not Fill.objects.exists()
    assert balance_of(trader) == 10_000


def test_a_locked_symbol_is_refused_with_the_time_the_lock_lifts(trader_client, redis_client):
    from apps.core.redis import redis_now_ts
    from apps.trading.market import LockReason, lock_symbols

    quote("TRDA", 100.0, spread=0.05)
    lock_symbols(redis_client, ["TRDA"], reason=LockReason.JUMP, now=redis_now_ts(), seconds=60)
    response = trader_client.post("/api/v1/orders/", {"symbol": "TRDA", "side": "buy", "type": "limit",
                                                      "quantity": "1", "limit_price": "90"}, format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "symbol_locked" and "price jumped" in error["message"] and "UTC" in error["message"]
    assert 55 <= int(response["Retry-After"]) <= 60
    assert not Order.objects.exists()
    # Other symbols trade on.
    quote("TRDB", 50.0, spread=0.05)
    assert order(trader_client, symbol="TRDB", side="buy", type="market", quantity="1")[0] == 201


def test_a_buy_beyond_the_balance_is_refused_and_writes_nothing(trader_client, trader, no_fee):
    quote("TRDA", 100.0, spread=0.05)
    status, body = order(trader_client, symbol="TRDA", side="buy", type="market", quantity="101")
    assert status == 409 and body["error"]["code"] == "insufficient_points"
    assert not Order.objects.exists() and not Position.objects.exclude(quantity=0).exists()
    assert balance_of(trader) == 10_000


def test_no_quote_yet_is_refused(trader_client):
    status, body = order(trader_client, symbol="TRDC", side="buy", type="market", quantity="1")
    assert status == 409 and body["error"]["code"] == "no_quote"


def test_the_same_idempotency_key_returns_the_first_order(trader_client, trader, no_fee):
    quote("TRDA", 100.0, spread=0.05)
    body = {"symbol": "TRDA", "side": "buy", "type": "market", "quantity": "1"}
    first = trader_client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    quote("TRDA", 120.0, spread=0.05)
    again = trader_client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()
    assert Order.objects.count() == 1 and balance_of(trader) == 10_000 - 101
    other = trader_client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert other.status_code == 201 and Order.objects.count() == 2


def test_the_fee_is_what_the_preview_said(trader_client, settings):
    settings.TRADE_FEE_BPS = 25
    quote("TRDA", 100.0, bid=99.9, ask=100.1)
    body = {"symbol": "TRDA", "side": "buy", "type": "market", "quantity": "7.5"}
    preview = trader_client.post("/api/v1/orders/preview/", body, format="json").json()
    assert preview["executes_now"] and preview["price"] == "100.1" and preview["fee_bps"] == 25
    placed = trader_client.post("/api/v1/orders/", body, format="json").json()["fills"][0]
    assert (placed["fee"], placed["cash"]) == (preview["fee"], preview["cash"]) == (2, -751)
    assert preview["balance_after"] == preview["balance"] - 753


def test_a_buy_covers_a_short_first_and_opens_a_long_at_the_fill_price(trader_client, trader, no_fee):
    quote("TRDA", 100.0, bid=100, ask=100)
    order(trader_client, symbol="TRDA", side="sell_short", type="market", quantity="3")
    quote("TRDA", 90.0, bid=90, ask=90)
    status, body = order(trader_client, symbol="TRDA", side="buy", type="market", quantity="5")
    assert status == 201
    fill = body["fills"][0]
    assert fill["realized_pnl"] == "30" and fill["position_after"] == "2" and fill["avg_cost_after"] == "90"
    assert Position.objects.get(user=trader, symbol="TRDA").collateral == 0
    # +300 proceeds −450 collateral, then +450 released −450 for five shares: the short made 30,
    # and two shares worth 180 are held.
    assert balance_of(trader) == 10_000 + 30 - 180
