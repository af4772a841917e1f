"""The watchlist toggle and page."""
import pytest

from apps.web.models import Watchlist

pytestmark = pytest.mark.django_db


def test_toggle_adds_then_removes(logged_in, stocks, player):
    response = logged_in.post("/stocks/AAPL/watch/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Watching" in response.content.decode()
    assert Watchlist.objects.filter(user=player, stock__symbol="AAPL").exists()
    page = logged_in.get("/watchlist/").content.decode()
    assert "AAPL" in page
    response = logged_in.post("/stocks/AAPL/watch/", HTTP_HX_REQUEST="true")
    assert "&#9734; Watch" in response.content.decode()
    assert not Watchlist.objects.exists()


def test_watchlist_shows_upcoming_races_of_watched_stocks(logged_in, open_race, player):
    logged_in.post("/stocks/MSFT/watch/")
    assert "Open Sprint" in logged_in.get("/watchlist/").content.decode()


def test_lobby_marks_watched_stocks(logged_in, open_race):
    logged_in.post("/stocks/NVDA/watch/")
    html = logged_in.get("/lobby/races/").content.decode()
    assert 'ticker-watched" title="On your watchlist">NVDA' in html


def test_visitor_cannot_toggle(client, stocks):
    assert client.post("/stocks/AAPL/watch/")["Location"].startswith("/login/")
    assert not Watchlist.objects.exists()
