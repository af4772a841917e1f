"""The market pages: the list, a market (chart data, the ticket that asks the server for its
preview, the live socket), your positions and stops, the profit leaderboard, the nav link."""
from __future__ import annotations

import json
import re

import pytest

from apps.markets.services import market_trade, parse_order, stop_create
from tests.markets.conftest import make_market

pytestmark = pytest.mark.django_db


def test_list_and_nav(client, alice):
    market = make_market()
    client.force_login(alice)
    page = client.get("/markets/").content.decode()
    assert market.question in page and f'href="/markets/{market.pk}/"' in page
    assert 'href="/markets/" aria-current="page">Markets</a>' in page
    assert "50.0 %" in page
    assert market.question not in client.get("/markets/?state=resolved").content.decode()


def test_market_page_has_the_chart_the_ticket_and_the_socket(client, alice):
    market = make_market()
    market_trade(user_id=alice.pk, market_id=market.pk, order=parse_order(outcome=0, side="buy", amount=10))
    client.force_login(alice)
    page = client.get(f"/markets/{market.pk}/").content.decode()
    assert 'id="market-chart"' in page and "vendor/lightweight-charts.js" in page and "js/markets.js" in page
    history = json.loads(re.search(r'id="market-history" type="application/json">(.*?)</script>', page).group(1))
    assert len(history) == 2 and history[-1]["p"][0] > 0.5
    assert 'id="ticket"' in page and "The server's price appears here." in page
    assert f'hx-get="/markets/{market.pk}/mine/"' in page
    assert "#1</span> buy 19.09 YES" in page
    # The script computes no price: its preview is the quote endpoint's answer.
    script = open("static/js/markets.js").read()
    assert 'api + "quote/"' in script and "Idempotency-Key" in script and "/ws/markets/" in script


def test_anonymous_sees_the_market_but_no_ticket(client):
    market = make_market()
    page = client.get(f"/markets/{market.pk}/").content.decode()
    assert market.question in page and 'id="ticket"' not in page and "Log in</a> to trade" in page
    assert client.get("/markets/999999/").status_code == 404


def test_positions_and_stops_partial(client, alice):
    market = make_market()
    market_trade(user_id=alice.pk, market_id=market.pk, order=parse_order(outcome=0, side="buy", amount=30))
    stop_create(user_id=alice.pk, market_id=market.pk, outcome=0, trigger="0.4")
    client.force_login(alice)
    part = client.get(f"/markets/{market.pk}/mine/").content.decode()
    assert "YES" in part and "Set stop" in part and "active" in part and "below 0.400" in part


def test_leaderboard_page(client):
    assert "Market profits" in client.get("/markets/leaderboard/").content.decode()


def test_admin_lists_markets_and_cancels_with_refunds(client, alice, staff):
    from django.contrib.auth import get_user_model

    from apps.markets.models import Market
    from tests.support.ledger import balance_of

    market = make_market()
    market_trade(user_id=alice.pk, market_id=market.pk, order=parse_order(outcome=0, side="buy", amount=30))
    get_user_model().objects.filter(pk=staff.pk).update(is_superuser=True)
    client.force_login(staff)
    for url in ("/admin/markets/market/", f"/admin/markets/market/{market.pk}/change/", "/admin/markets/markettrade/",
                "/admin/markets/position/", "/admin/markets/stop/", "/admin/markets/marketpayout/"):
        assert client.get(url).status_code == 200, url
    response = client.post("/admin/markets/market/", {"action": "cancel_with_refunds", "_selected_action": [market.pk]})
    assert response.status_code == 302
    assert Market.objects.get(pk=market.pk).state == "cancelled" and balance_of(alice) == 1000
