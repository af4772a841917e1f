"""Bad input gets a 4xx in the one error shape, and nothing is written."""
from __future__ import annotations

import pytest

from apps.points.models import LedgerEntry
from apps.trading.models import Fill, Order, Position
from tests.trading.conftest import quote

pytestmark = pytest.mark.django_db

BASE = {"symbol": "TRDA", "side": "buy", "type": "market", "quantity": "1"}
CASES = [
    ("unknown symbol", {"symbol": "NOPE"}, 400, "unknown_symbol", "symbol"),
    ("zero quantity", {"quantity": "0"}, 400, "invalid", "quantity"),
    ("negative quantity", {"quantity": -2}, 400, "invalid", "quantity"),
    ("too many decimals", {"quantity": "0.1234567"}, 400, "invalid", "quantity"),
    ("tiny float", {"quantity": 1e-7}, 400, "invalid", "quantity"),
    ("not a number", {"quantity": "lots"}, 400, "invalid", "quantity"),
    ("infinite", {"quantity": "Infinity"}, 400, "invalid", "quantity"),
    ("boolean", {"quantity": True}, 400, "invalid", "quantity"),
    ("huge", {"quantity": "1e30"}, 400, "invalid", "quantity"),
    ("limit price zero", {"type": "limit", "limit_price": "0"}, 400, "invalid", "limit_price"),
    ("limit price negative", {"type": "limit", "limit_price": "-5"}, 400, "invalid", "limit_price"),
    ("limit price decimals", {"type": "limit", "limit_price": "10.12345"}, 400, "invalid", "limit_price"),
    ("limit missing", {"type": "limit"}, 400, "invalid", "limit_price"),
    ("stop missing", {"type": "stop_limit", "limit_price": "5"}, 400, "invalid", "stop_price"),
    ("a price on a market order", {"limit_price": "5"}, 400, "invalid", "limit_price"),
    ("unknown side", {"side": "hold"}, 400, "invalid", "side"),
    ("unknown type", {"type": "iceberg"}, 400, "invalid", "type"),
    ("unknown time in force", {"time_in_force": "ioc"}, 400, "invalid", "time_in_force"),
    ("market gtc", {"time_in_force": "gtc"}, 400, "invalid", "time_in_force"),
    ("cover without a short", {"side": "buy_to_cover"}, 400, "no_position", "quantity"),
    ("sell without shares", {"side": "sell"}, 400, "no_position", "quantity"),
    ("symbol not text", {"symbol": ["TRDA"]}, 400, "invalid", "symbol"),
]


@pytest.mark.parametrize("what, change, status, code, field", CASES, ids=[c[0] for c in CASES])
def test_bad_orders_are_refused_with_nothing_written(trader_client, what, change, status, code, field):
    quote("TRDA", 100.0, spread=0.05)
    entries = LedgerEntry.objects.count()
    response = trader_client.post("/api/v1/orders/", {**BASE, **change}, format="json")
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code and field in error["fields"] and error["message"]
    assert not Order.objects.exists() and not Fill.objects.exists()
    assert not Position.objects.exclude(quantity=0).exists()
    assert LedgerEntry.objects.count() == entries
    preview = trader_client.post("/api/v1/orders/preview/", {**BASE, **change}, format="json")
    if code == "no_position":  # a preview answers what the order would get
        assert preview.status_code == 200 and preview.json()["refusal"]["code"] == "no_position"
    else:
        assert preview.status_code == status and preview.json()["error"]["code"] == code


def test_selling_more_than_held_is_refused(trader_client, no_fee):
    quote("TRDA", 100.0, spread=0.05)
    trader_client.post("/api/v1/orders/", BASE, format="json")
    response = trader_client.post("/api/v1/orders/", {**BASE, "side": "sell", "quantity": "1.5"}, format="json")
    assert response.status_code == 400 and "You hold 1 TRDA shares" in response.json()["error"]["message"]
    assert Order.objects.count() == 1


def test_not_json_and_an_anonymous_caller(trader_client):
    from rest_framework.test import APIClient

    response = trader_client.post("/api/v1/orders/", b"[1, 2", content_type="application/json")
    assert response.status_code == 400 and "error" in response.json()
    response = trader_client.post("/api/v1/orders/", [1, 2], format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"
    assert APIClient().post("/api/v1/orders/", BASE, format="json").status_code in (401, 403)
    assert not Order.objects.exists()


@pytest.mark.parametrize("key", ["x" * 121, "bad\x00key"])
def test_a_bad_idempotency_key_is_refused(trader_client, key):
    quote("TRDA", 100.0, spread=0.05)
    response = trader_client.post("/api/v1/orders/", BASE, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400 and not Order.objects.exists()


@pytest.mark.parametrize("query", ["status=bogus", "status=open,nope"])
def test_bad_order_filters(trader_client, query):
    response = trader_client.get(f"/api/v1/orders/?{query}")
    assert response.status_code == 400 and response.json()["error"]["fields"]["status"]


@pytest.mark.parametrize("query", ["side=hold", "type=x", "from=yesterday", "to=2026-13-45", "from=9999999999"])
def test_bad_trade_filters(trader_client, query):
    for path in ("/api/v1/trades/", "/api/v1/trades/export.csv"):
        response = trader_client.get(f"{path}?{query}")
        assert response.status_code == 400, (path, query, response.content)
