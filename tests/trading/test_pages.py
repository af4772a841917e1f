"""The trading pages: the ticket on every stock page (its preview computed by the executing
function), the portfolio, orders, history and the returns board."""
from __future__ import annotations

import pytest

from apps.trading.models import Order
from tests.support.ledger import balance_of
from tests.trading.conftest import quote

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(client, trader):
    client.force_login(trader)
    return client


def test_the_stock_page_carries_the_ticket_slot(browser, stocks):
    page = browser.get("/stocks/TRDA/").content.decode()
    assert 'hx-get="/trade/TRDA/"' in page and 'id="trade-ticket"' in page


def test_the_ticket_previews_with_the_fee_then_sends_the_order(browser, trader, settings):
    settings.TRADE_FEE_BPS = 10
    quote("TRDA", 100.0, bid=99.9, ask=100.1)
    ticket = browser.get("/trade/TRDA/").content.decode()
    assert "Send order" in ticket and "Fee 10 bp" in ticket
    preview = browser.get("/trade/TRDA/preview/?side=buy&type=market&quantity=3").content.decode()
    assert "Fills now at" in preview and "100.10" in preview and "1 pts" in preview  # fee of 300.3 at 10 bp
    balance = balance_of(trader)  # 10,000 and the daily login bonus
    assert f"<strong>{balance - 302}</strong> pts" in preview  # buying power after: 301 for the shares, 1 fee
    response = browser.post("/trade/TRDA/order/", {"side": "buy", "type": "market", "quantity": "3",
                                                   "idempotency_key": "web-1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Filled:" in response.content.decode()
    assert response["HX-Trigger"] == "balanceChanged"
    again = browser.post("/trade/TRDA/order/", {"side": "buy", "type": "market", "quantity": "3",
                                                "idempotency_key": "web-1"}, HTTP_HX_REQUEST="true")
    assert again.status_code == 200 and Order.objects.count() == 1  # a double submit places one order


def test_the_ticket_shows_a_refusal_with_its_status(browser):
    quote("TRDA", 100.0, age=30)
    response = browser.post("/trade/TRDA/order/", {"side": "buy", "type": "market", "quantity": "1"},
                            HTTP_HX_REQUEST="true")
    assert response.status_code == 409 and "Order refused" in response.content.decode()
    bad = browser.post("/trade/TRDA/order/", {"side": "buy", "type": "market", "quantity": "-1"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400 and not Order.objects.exists()
    assert browser.get("/trade/NOPE/").status_code == 404


def test_the_portfolio_orders_history_and_board_pages(browser, no_fee):
    quote("TRDA", 100.0, spread=0.05)
    browser.post("/trade/TRDA/order/", {"side": "buy", "type": "market", "quantity": "2"})
    browser.post("/trade/TRDA/order/", {"side": "buy", "type": "limit", "quantity": "1", "limit_price": "90",
                                        "time_in_force": "gtc"})
    portfolio = browser.get("/portfolio/").content.decode()
    assert 'data-symbol="TRDA"' in portfolio and "portfolio.js" in portfolio
    orders = browser.get("/orders/").content.decode()
    resting = Order.objects.get(type="limit")
    assert f'id="order-{resting.pk}"' in orders and "Cancel" in orders
    cancelled = browser.post(f"/orders/{resting.pk}/cancel/", HTTP_HX_REQUEST="true")
    assert cancelled.status_code == 200 and "cancelled" in cancelled.content.decode()
    assert "TRDA" in browser.get("/orders/?tab=filled").content.decode()
    trades = browser.get("/trades/?symbol=TRDA").content.decode()
    assert "Export CSV" in trades and "/api/v1/trades/export.csv?symbol=TRDA" in trades
    assert browser.get("/trades/?from=nonsense").status_code == 200  # the filter error is shown, not a 500
    assert browser.get("/returns/?period=monthly").status_code == 200


def test_pages_need_a_login(client, stocks):
    for path in ("/portfolio/", "/orders/", "/trades/"):
        assert client.get(path).status_code == 302
    assert "Log in" in client.get("/trade/TRDA/").content.decode()
