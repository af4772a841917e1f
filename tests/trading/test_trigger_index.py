"""The Redis trigger index and its batch check: symbols whose nearest trigger the quote does not
reach are not even sent to the script, yet an order added a moment ago, or a symbol whose nearest
order has gone, is never missed; the index is rebuilt from PostgreSQL."""
from __future__ import annotations

from decimal import Decimal

import pytest

from apps.core.redis import get_redis, redis_now_ts
from apps.market.quotes import Quote
from apps.trading import index
from apps.trading.models import Order

pytestmark = pytest.mark.django_db


def q(symbol, price, spread=0.01):
    now = redis_now_ts()
    return Quote(symbol=symbol, price=price, bid=price - spread, ask=price + spread, volume=0, ts=now, recv=now)


def add(client, order_id, symbol, side, order_type, price):
    index.order_add(client, order_id=order_id, symbol=symbol, side=side, order_type=order_type, status="open",
                    limit=Decimal(price) if order_type == "limit" else None,
                    stop=Decimal(price) if order_type == "stop" else None)


def test_quiet_symbols_are_not_sent_and_new_orders_are_still_found_at_once():
    client = get_redis()
    checker = index.Checker()
    add(client, 1, "IXA", "buy", "limit", "95")
    add(client, 2, "IXB", "sell", "stop", "90")
    assert not checker.check(client, [q("IXA", 100.0), q("IXB", 100.0)])  # first sight: examined, copies made
    assert checker.bounds["IXA"][0] == 95.0 and checker.bounds["IXB"][3] == 90.0
    assert checker.args([q("IXA", 99.0), q("IXB", 99.0)])[4:] == []  # nothing reached: nothing sent
    add(client, 3, "IXA", "buy", "limit", "99.5")  # placed a moment ago, nearer than the copy knows
    found = checker.check(client, [q("IXA", 99.3), q("IXB", 99.0)])
    assert found.fills == [("IXA", 3)]
    found = checker.check(client, [q("IXB", 89.9)])
    assert found.triggered == [("IXB", 2, False)]


def test_a_stale_copy_only_costs_one_more_look():
    client = get_redis()
    checker = index.Checker()
    add(client, 1, "IXC", "buy", "limit", "99")
    add(client, 2, "IXC", "buy", "limit", "95")
    checker.check(client, [q("IXC", 100.0)])
    index.order_remove(client, order_id=1, symbol="IXC")  # cancelled: the copy still says 99
    assert checker.args([q("IXC", 98.0)])[4:] != []  # looked at once more...
    assert not checker.check(client, [q("IXC", 98.0)])
    assert checker.bounds["IXC"][0] == 95.0 and checker.args([q("IXC", 98.0)])[4:] == []  # ...then not


def test_rebuild_adds_what_postgresql_says_rests_and_removes_the_rest(trader):
    client = get_redis()
    resting = Order.objects.create(user=trader, symbol="TRDA", side="sell", type="stop", quantity=1,
                                   stop_price=Decimal("90"), status="open")
    done = Order.objects.create(user=trader, symbol="TRDA", side="buy", type="limit", quantity=1,
                                limit_price=Decimal("80"), status="cancelled")
    add(client, done.pk, "TRDA", "buy", "limit", "80")  # a stray the process that cancelled it did not remove
    counts = index.index_rebuild(client, maintenance_pct=130)
    assert counts == {"added": 1, "removed": 1}
    assert client.zscore(index.key("TRDA", index.SELL_STOPS), f"m{resting.pk}") == 90.0
    assert client.zscore(index.key("TRDA", index.BUY_LIMITS), str(done.pk)) is None
