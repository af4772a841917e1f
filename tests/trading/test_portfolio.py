"""The live portfolio: values from PostgreSQL and Redis in one round trip each, pushed over
/ws/me/ at most once a second and only to players with the portfolio open; session snapshots."""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from apps.core import live_keys
from apps.core.redis import get_redis, redis_now_ts
from apps.trading.models import PortfolioSnapshot
from apps.trading.push import PortfolioPusher
from apps.trading.selectors import portfolio_value
from apps.trading.snapshots import portfolios_snapshot
from tests.support.factories import UserFactory
from tests.trading.conftest import order, quote


@pytest.mark.django_db
def test_the_portfolio_values_every_position_at_the_live_quote(trader_client, trader, no_fee):
    quote("TRDA", 100.0, bid=100.0, ask=100.0)
    order(trader_client, symbol="TRDA", side="buy", type="market", quantity="3")
    order(trader_client, symbol="TRDA", side="sell", type="market", quantity="1")
    quote("TRDB", 40.0, bid=40.0, ask=40.0)
    order(trader_client, symbol="TRDB", side="sell_short", type="market", quantity="5")
    quote("TRDA", 110.0, spread=0.05)
    quote("TRDB", 36.0, spread=0.05)
    body = trader_client.get("/api/v1/portfolio/").json()
    rows = {p["symbol"]: p for p in body["positions"]}
    assert rows["TRDA"]["quantity"] == "2" and rows["TRDA"]["market_value"] == "220.00"
    assert rows["TRDA"]["unrealized_pnl"] == "20.00" and rows["TRDA"]["day_change"] == "20.00"  # previous close 100
    assert rows["TRDB"]["quantity"] == "-5" and rows["TRDB"]["market_value"] == "-180.00"
    assert rows["TRDB"]["unrealized_pnl"] == "20.00" and rows["TRDB"]["collateral"] == 300
    assert body["realized_pnl"] == "0.00" and body["unrealized_pnl"] == "40.00"
    assert body["cash"] == 10_000 - 300 + 100 + 200 - 300
    assert Decimal(body["equity"]) == body["cash"] + 300 + Decimal("40.00")  # cash + collateral + 220 − 180
    assert body["total_return"] == "40.00" and body["total_return_pct"] == pytest.approx(40 / 500 * 100)


@pytest.mark.django_db
def test_valuing_fifty_positions_takes_one_query_and_one_redis_round_trip(django_assert_num_queries, trader, stocks):
    from apps.trading.models import Position
    from tests.support.factories import StockFactory

    symbols = [f"PF{n:02d}" for n in range(50)]
    for s in symbols:
        StockFactory(symbol=s)
        quote(s, 10.0)
    Position.objects.bulk_create([Position(user=trader, symbol=s, quantity=Decimal("1.5"), avg_cost=Decimal("9"))
                                  for s in symbols])
    client = get_redis()
    calls = []
    original = client.evalsha
    client.evalsha = lambda *a, **k: calls.append(a) or original(*a, **k)
    try:
        with django_assert_num_queries(1):
            value = portfolio_value(user_id=trader.pk, client=client)
    finally:
        client.evalsha = original
    assert len(value.positions) == 50 and len(calls) == 1
    assert value.market_value == Decimal("750")


@pytest.mark.django_db(transaction=True)
def test_the_pusher_sends_only_to_players_with_the_portfolio_open(trader_client, trader, stocks, no_fee):
    other = UserFactory(balance=5_000)
    quote("TRDA", 100.0, spread=0.05)
    order(trader_client, symbol="TRDA", side="buy", type="market", quantity="1")
    client = get_redis()
    pubsub = client.pubsub()
    pubsub.subscribe(live_keys.user_channel(trader.pk), live_keys.user_channel(other.pk))
    pubsub.get_message(timeout=1)
    pubsub.get_message(timeout=1)
    pusher = PortfolioPusher(client)
    assert pusher.push_once() == 0  # nobody is watching
    assert trader_client.post("/api/v1/portfolio/watch/").status_code == 200
    assert pusher.push_once() == 1
    assert pusher.push_once() == 0  # nothing changed
    quote("TRDA", 101.0, spread=0.05)
    assert pusher.push_once() == 1
    got = []
    deadline = time.monotonic() + 10
    while len(got) < 2 and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.2)
        if message and message["type"] == "message" and json.loads(message["data"])["type"] == "portfolio":
            got.append((message["channel"], json.loads(message["data"])))  # (the order's balance event aside)
    assert [channel for channel, _ in got] == [live_keys.user_channel(trader.pk)] * 2
    assert got[-1][1]["portfolio"]["positions"][0]["price"] == "101"
    assert trader_client.delete("/api/v1/portfolio/watch/").status_code == 204
    quote("TRDA", 102.0, spread=0.05)
    assert pusher.push_once() == 0


@pytest.mark.django_db
def test_session_close_snapshots_once_per_session_and_feed_the_history(trader_client, trader, no_fee):
    quote("TRDA", 100.0, bid=100.0, ask=100.0)
    order(trader_client, symbol="TRDA", side="buy", type="market", quantity="2")
    quote("TRDA", 105.0, bid=105.0, ask=105.0)
    # 2026-03-04 21:05 UTC: five minutes after that Wednesday's close.
    after_close = datetime(2026, 3, 4, 21, 5, tzinfo=timezone.utc).timestamp()
    assert portfolios_snapshot(now_ts=after_close) == 1
    assert portfolios_snapshot(now_ts=after_close + 60) == 0  # run twice: one row
    snap = PortfolioSnapshot.objects.get(user=trader)
    assert str(snap.session) == "2026-03-04" and snap.market_value == Decimal("210")
    history = trader_client.get("/api/v1/portfolio/history/").json()
    assert history == [{"session": "2026-03-04", "equity": "10010.00", "total_return": "10.00",
                        "market_value": "210.00", "cash": 9800}]
    assert redis_now_ts() > after_close  # the snapshot is of a session that closed before now
