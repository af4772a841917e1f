"""Staff admin: create a race, monitor, cancel with refunds, mark reviewed, rebuild leaderboards."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from apps.points.models import LedgerEntry
from apps.races.models import Race
from tests.support import factories as f
from tests.support.ledger import balances

pytestmark = pytest.mark.django_db
S = Race.State


@pytest.fixture
def staff_client(client):
    staff = get_user_model().objects.create_user(username="staff", password="x", is_staff=True, is_superuser=True)
    client.force_login(staff)
    return client


def test_staff_creates_a_custom_race(staff_client):
    stocks = [f.StockFactory(symbol=s) for s in ("AAA", "BBB", "CCC", "DDD", "EEE")]
    f.write_quotes({s.symbol: 10.0 for s in stocks})  # the form refuses stocks without a live quote
    response = staff_client.post("/admin/races/race/create/", {
        "title": "Staff pick", "theme": "custom", "stocks": [s.pk for s in stocks[:3]], "stock_count": 5,
        "duration": "15m", "starts_at": "2030-01-02 15:00:00", "betting_window_seconds": 300, "session": "auto"})
    assert response.status_code == 302
    race = Race.objects.get(title="Staff pick")
    assert race.entries.count() == 3 and race.duration == "15m"


def test_create_form_refuses_two_stocks(staff_client):
    stocks = [f.StockFactory(symbol=s) for s in ("AAA", "BBB", "CCC", "DDD", "EEE")]
    response = staff_client.post("/admin/races/race/create/", {
        "title": "Too few", "theme": "custom", "stocks": [s.pk for s in stocks[:2]], "stock_count": 5,
        "duration": "5m", "starts_at": "2030-01-02 15:00:00", "betting_window_seconds": 300, "session": "auto"})
    assert response.status_code == 200 and not Race.objects.filter(title="Too few").exists()


def test_pages_render(staff_client):
    race = f.RaceFactory(state=S.OPEN)
    for url in ("/admin/races/race/", "/admin/races/race/?activity=active", f"/admin/races/race/{race.pk}/change/",
                "/admin/races/race/create/", "/admin/leaderboards/leaderboardentry/",
                "/admin/leaderboards/playerstreak/"):
        assert staff_client.get(url).status_code == 200, url
    assert staff_client.get("/admin/races/race/add/").status_code == 302


def test_cancel_with_refunds_and_mark_reviewed_actions(staff_client):
    race = f.RaceFactory(state=S.OPEN)
    player = f.UserFactory()
    f.BetFactory(race=race, user=player, symbol="AAA", stake=100)
    staff_client.post("/admin/races/race/", {"action": "cancel_with_refunds", "_selected_action": [race.pk]})
    race.refresh_from_db()
    assert race.state == S.CANCELLED
    assert LedgerEntry.objects.filter(race=race, kind="refund").count() == 1
    assert balances()[player.pk] == 1000

    Race.objects.filter(pk=race.pk).update(needs_review=True, review_reason="gap")
    staff_client.post("/admin/races/race/", {"action": "mark_reviewed", "_selected_action": [race.pk]})
    race.refresh_from_db()
    assert race.needs_review is False and race.review_reason == "gap"


def test_rebuild_button(staff_client):
    response = staff_client.post("/admin/leaderboards/leaderboardentry/rebuild/", follow=True)
    assert response.status_code == 200 and b"Rebuilt" in response.content
