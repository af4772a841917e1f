"""Shorts: proceeds held with the margin as collateral (150 %), covered with a proportional
release, bought in automatically below maintenance (130 %) through the order path, logged and
notified over /ws/me/."""
from __future__ import annotations

import json
import time
from collections import Counter
from decimal import Decimal

import pytest

from apps.core import live_keys
from apps.core.redis import get_redis
from apps.points.models import LedgerEntry
from apps.trading import index
from apps.trading.models import Fill, Order, Position
from tests.support.ledger import balance_of
from tests.trading.conftest import order, quote

pytestmark = pytest.mark.django_db(transaction=True)


def _short(client, qty="10", price=100.0):
    quote("TRDA", price, bid=price, ask=price)
    status, body = order(client, symbol="TRDA", side="sell_short", type="market", quantity=qty)
    assert status == 201, body
    return body


def _events(pubsub, timeout=10.0) -> list[dict]:
    out, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.2)
        if message and message["type"] == "message":
            out.append(json.loads(message["data"]))
            if any(e.get("event") == "buy_in" for e in out):
                break
    return out


def test_a_short_sale_locks_proceeds_and_margin_and_a_cover_releases_its_share(trader_client, trader, no_fee,
                                                                               redis_client):
    body = _short(trader_client)
    fill = body["fills"][0]
    assert (fill["cash"], fill["collateral_locked"]) == (1000, 1500)
    position = Position.objects.get(user=trader, symbol="TRDA")
    assert position.quantity == -10 and position.collateral == 1500
    assert balance_of(trader) == 10_000 - 500
    # Bought in once the last trade passes 1500 / (1.3 × 10) = 115.3846.
    assert redis_client.zscore(index.key("TRDA", index.BUY_INS), str(position.pk)) == pytest.approx(115.3846)
    quote("TRDA", 90.0, bid=90.0, ask=90.0)
    status, cover = order(trader_client, symbol="TRDA", side="buy_to_cover", type="market", quantity="4")
    assert status == 201
    assert cover["fills"][0]["collateral_released"] == 600 and cover["fills"][0]["realized_pnl"] == "40"
    position.refresh_from_db()
    assert position.quantity == -6 and position.collateral == 900
    assert balance_of(trader) == 10_000 - 500 + 600 - 360
    kinds = Counter(LedgerEntry.objects.filter(user=trader).values_list("kind", flat=True))
    assert kinds["collateral_lock"] == 1 and kinds["collateral_release"] == 1


def test_a_short_below_maintenance_is_bought_in_and_the_player_is_told(trader_client, trader, hook, no_fee, caplog):
    pubsub = get_redis().pubsub()
    pubsub.subscribe(live_keys.user_channel(trader.pk))
    pubsub.get_message(timeout=1)
    _short(trader_client)
    position = Position.objects.get(user=trader, symbol="TRDA")
    hook([quote("TRDA", 115.0, bid=115.0, ask=115.1)])  # still above maintenance
    assert Position.objects.get(pk=position.pk).quantity == -10
    hook([quote("TRDA", 116.0, bid=115.9, ask=116.1)])
    position.refresh_from_db()
    assert position.quantity == 0 and position.collateral == 0
    buy_in = Order.objects.get(user=trader, source="buy_in")
    assert buy_in.side == "buy_to_cover" and buy_in.status == "filled" and "below 130%" in buy_in.reason
    assert buy_in.fill.price == Decimal("116.1") and buy_in.fill.shortfall == 0
    assert balance_of(trader) == 10_000 + 1000 - 1161  # proceeds kept, the cover paid from the collateral
    assert any("buy-in" in r.message for r in caplog.records)
    events = _events(pubsub)
    [told] = [e for e in events if e.get("event") == "buy_in"]
    assert told["type"] == "alert" and "bought in" in told["message"] and told["order"]["source"] == "buy_in"
    # Once only: the same quote again finds nothing to buy in.
    hook([quote("TRDA", 117.0, bid=117.0, ask=117.0)])
    assert Order.objects.filter(source="buy_in").count() == 1


def test_a_gap_beyond_the_collateral_is_bought_in_without_a_negative_balance(stocks, hook, api_client, no_fee):
    from tests.support.factories import UserFactory

    poor = UserFactory(balance=500)
    api_client.force_authenticate(poor)
    _short(api_client)  # 10 short at 100: +1000 −1500, balance 0
    assert balance_of(poor) == 0
    hook([quote("TRDA", 300.0, bid=300.0, ask=300.0)])  # costs 3000 to cover; 1500 of collateral
    fill = Fill.objects.get(order__source="buy_in", user=poor)
    assert fill.cash == -1500 and fill.shortfall == 1500
    assert balance_of(poor) == 0
    assert Position.objects.get(user=poor, symbol="TRDA").quantity == 0

