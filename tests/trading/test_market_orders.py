"""Market orders: fill at the ask or bid of a fresh quote, points through the ledger, the fee."""
from __future__ import annotations

from decimal import Decimal

import pytest

from apps.points.models import LedgerEntry
from apps.trading.models import Fill, Order, Position
from tests.support.ledger import balance_of
from tests.trading.conftest import quote

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
