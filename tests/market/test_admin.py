"""Staff pages of the market app render; candles cannot be edited there."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from apps.market.models import Candle

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser(username="staff", password="staff-password-1", email="s@x.io")
    client.force_login(user)
    return client


def test_stock_admin_searches_and_filters(staff_client, make_stock):
    make_stock("AAPL", name="Apple Inc.")
    make_stock("XOM", name="Exxon Mobil", sector="Energy")
    page = staff_client.get("/admin/market/stock/?q=apple&sector=Technology")
    assert page.status_code == 200
    assert b"Apple Inc." in page.content and b"Exxon" not in page.content


def test_candle_admin_is_a_read_only_list(staff_client, make_stock):
    stock = make_stock("AAPL")
    moment = datetime(2019, 2, 11, 14, 30, tzinfo=timezone.utc)
    candle = Candle.objects.create(stock=stock, interval="1d", start=moment, open=1, high=2, low=0.5, close=1.5,
                                   volume=10, open_ts=moment, close_ts=moment)
    assert staff_client.get("/admin/market/candle/?interval=1d").status_code == 200
    assert staff_client.get("/admin/market/candle/add/").status_code == 403
    assert staff_client.post(f"/admin/market/candle/{candle.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Candle.objects.filter(pk=candle.pk).exists()
