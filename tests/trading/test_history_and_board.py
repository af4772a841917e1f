"""Trade history (search, filters, CSV export) and the returns leaderboard (periods, minimum
activity, house and shadow-restricted players left out)."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from apps.core.redis import redis_now
from apps.trading.leaderboard import returns_board
from apps.trading.models import Fill
from tests.support.factories import UserFactory
from tests.trading.conftest import order, quote

pytestmark = pytest.mark.django_db


def _trade(client, symbol, side, qty, price):
    quote(symbol, price, bid=price, ask=price)
    status, body = order(client, symbol=symbol, side=side, type="market", quantity=str(qty))
    assert status == 201, body
    return body


@pytest.fixture
def history(trader_client, no_fee):
    _trade(trader_client, "TRDA", "buy", 2, 100.0)
    _trade(trader_client, "TRDB", "buy", 1, 50.0)
    _trade(trader_client, "TRDA", "sell", 1, 110.0)
    _trade(trader_client, "TRDC", "sell_short", 1, 20.0)
    return trader_client


def test_trades_filter_by_symbol_side_type_search_and_dates(history):
    def symbols(query):
        response = history.get(f"/api/v1/trades/?{query}")
        assert response.status_code == 200, response.content
        return [(r["symbol"], r["side"]) for r in response.json()["results"]]

    assert symbols("") == [("TRDC", "sell_short"), ("TRDA", "sell"), ("TRDB", "buy"), ("TRDA", "buy")]
    assert symbols("symbol=trda") == [("TRDA", "sell"), ("TRDA", "buy")]
    assert symbols("side=buy") == [("TRDB", "buy"), ("TRDA", "buy")]
    assert symbols("type=limit") == []
    assert symbols("q=TRDB") == [("TRDB", "buy")]
    assert symbols("q=industries&side=sell") == [("TRDA", "sell")]  # company names are searched too
    today = redis_now().date()
    assert len(symbols(f"from={today}&to={today}")) == 4
    assert symbols(f"to={today - timedelta(days=1)}") == []
    assert symbols(f"from={today + timedelta(days=1)}") == []


def test_the_csv_export_has_a_row_per_trade_with_the_same_filters(history):
    response = history.get("/api/v1/trades/export.csv?symbol=TRDA")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:5] == ["trade_id", "order_id", "filled_at", "symbol", "side"]
    assert [(r[3], r[4], r[7]) for r in rows[1:]] == [("TRDA", "sell", "110"), ("TRDA", "buy", "100")]
    sold = rows[1]
    assert sold[12] == "10" and sold[8] == "110"  # realized (110 − 100) × 1, 110 points credited


def test_returns_board_ranks_by_percent_return_and_leaves_out_house_shadow_and_the_inactive(stocks, api_client,
                                                                                          settings):
    settings.TRADE_FEE_BPS = 0
    settings.TRADE_LEADERBOARD_MIN_TRADES = 2

    def player(name, **extra):
        user = UserFactory(username=name, **extra)
        api_client.force_authenticate(user)
        return user

    player("steady")
    _trade(api_client, "TRDA", "buy", 10, 100.0)  # 1,000 at work
    _trade(api_client, "TRDA", "sell", 10, 105.0)  # +50: 5 %
    player("bold")
    _trade(api_client, "TRDB", "buy", 2, 100.0)  # 200 at work
    _trade(api_client, "TRDB", "buy", 0.01, 100.0)
    house = player("house", house=True)
    _trade(api_client, "TRDC", "buy", 1, 10.0)
    _trade(api_client, "TRDC", "buy", 1, 10.0)
    shadow = player("shadow")
    shadow.is_shadow_restricted = True
    shadow.save(update_fields=["is_shadow_restricted"])
    _trade(api_client, "TRDC", "buy", 1, 10.0)
    _trade(api_client, "TRDC", "buy", 1, 10.0)
    player("once")
    _trade(api_client, "TRDC", "buy", 1, 10.0)  # below the minimum activity
    quote("TRDB", 120.0, bid=120.0, ask=120.0)  # bold is up 20 % unrealized
    quote("TRDC", 30.0, bid=30.0, ask=30.0)  # house and shadow tripled; they do not count
    board = returns_board(period="all_time", use_cache=False)
    assert [(r["username"], r["rank"]) for r in board["results"]] == [("bold", 1), ("steady", 2)]
    assert board["results"][0]["return_pct"] == pytest.approx(20.0) and board["results"][1]["return_pct"] == pytest.approx(5.0)
    assert house.pk not in [r["user_id"] for r in board["results"]]
    weekly = api_client.get("/api/v1/trading/leaderboard/?period=weekly").json()
    assert [r["username"] for r in weekly["results"]] == ["bold", "steady"]
    assert api_client.get("/api/v1/trading/leaderboard/?period=decade").status_code == 400
    assert Fill.objects.count() == 9
