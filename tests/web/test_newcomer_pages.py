"""The small things a newcomer saw, pinned: the race page's live re-render answers, the cancelled
and house-only races, the theme filter, countdowns, the welcome and bonus messages, the
leaderboard's streaks, icons, HEAD /healthz, /favicon.ico and the admin's labels."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model

from apps.races import lifecycle
from tests.support import factories
from tests.web.factories import WebRaceFactory

pytestmark = pytest.mark.django_db


def test_the_live_part_sends_only_the_header_while_nothing_changed(client, open_race):
    same = client.get(f"/races/{open_race.pk}/part/live/", {"since": "open"}).content.decode()
    assert 'id="race-head"' in same and 'hx-swap-oob="true"' in same
    assert 'id="bet-panel"' not in same and 'id="race-field"' not in same
    changed = client.get(f"/races/{open_race.pk}/part/live/", {"since": "scheduled"}).content.decode()
    for section in ("race-head", "race-results", "race-field", "bet-panel", "my-bets"):
        assert f'id="{section}"' in changed, section
    assert changed.count('hx-swap-oob="true"') == 5


def test_the_field_appears_at_the_start_and_the_final_order_at_the_finish(client, races):
    running = client.get(f"/races/{races['running'].pk}/part/live/", {"since": "open"}).content.decode()
    assert "The field" in running and ">Now<" in running
    calculating = client.get(f"/races/{races['calculating'].pk}/").content.decode()
    assert "Settling the payouts" in calculating
    completed = client.get(f"/races/{races['completed'].pk}/").content.decode()
    assert "Final order" in completed and ">Close<" in completed and "Winner pays" not in completed
    assert "data-local-time" in completed  # shown in the visitor's zone by the page script


def test_a_cancelled_race_says_why(client, stocks):
    race = WebRaceFactory(state="open")
    assert lifecycle.race_cancel(race_id=race.pk, cause="no opening price for GLD")
    html = client.get(f"/races/{race.pk}/").content.decode()
    assert "This race was cancelled: <strong data-cancel-reason>no opening price for GLD</strong>" in html
    assert "waiting for the start" not in html and ">cancelled</span>" in html


def test_a_race_with_only_house_bets_says_so(client, races):
    house = factories.UserFactory(house=True)
    factories.BetFactory(race=races["completed"], user=house, symbol="AAPL", stake=10)
    html = client.get(f"/races/{races['completed'].pk}/").content.decode()
    assert "only the house" in html and "Nobody bet on this race" not in html


def test_the_theme_filter_lists_each_theme_once_with_a_count(client, stocks):
    for _ in range(4):
        WebRaceFactory(state="open", theme="sector:Energy")
    WebRaceFactory(state="scheduled", theme="tech")
    WebRaceFactory(state="open", theme="sector:")  # an old race with an empty sector
    html = client.get("/").content.decode()
    select = html.split('name="theme"', 1)[1].split("</select>", 1)[0]
    assert select.count("Energy sector (4)") == 1 and "Tech only (1)" in select
    assert 'value="sector:"' not in select


def test_countdowns_are_rendered_as_the_script_writes_them(client, open_race):
    html = client.get("/lobby/races/").content.decode()
    countdown = html.split('class="countdown">', 1)[1].split("<", 1)[0]
    minutes, seconds = countdown.split(":")
    assert minutes.isdigit() and len(seconds) == 2 and "minute" not in html.split("data-countdown", 1)[1][:200]


def test_a_new_player_is_told_where_the_points_came_from(client, settings):
    response = client.post("/signup/", {"username": "newbie", "password": "tr1cky-Passphrase"}, follow=True)
    html = response.content.decode()
    assert f"You start with {settings.SIGNUP_BONUS:,} points" in html
    assert f"Daily login bonus: +{settings.DAILY_LOGIN_BONUS:,} points" in html


def test_the_leaderboard_shows_no_zero_streak(client, settled_bet, player):
    from apps.leaderboards.models import LeaderboardEntry

    LeaderboardEntry.objects.create(board="global", period="", user=player, points=104, staked=40, bets=1, wins=1)
    html = client.get("/leaderboards/").content.decode()
    row = html.split("player1", 1)[1].split("</tr>", 1)[0]
    assert ">0<" not in row and row.count("–") == 2


def test_badges_and_toasts_use_svg_icons(logged_in, player):
    html = logged_in.get(f"/u/{player.username}/").content.decode()
    assert 'src="/static/icons/badges/first_win.svg"' in html
    assert "🏆" not in html and "&#9733;" not in html.split("Badge showcase", 1)[1].split("</section>", 1)[0]
    assert 'data-icons="/static/icons/"' in html


def test_every_badge_has_its_icon_file(settings):
    from apps.badges.catalog import CATALOG
    from apps.web.templatetags.web import badge_icon

    for spec in CATALOG:
        assert badge_icon(spec.code) == f"icons/badges/{spec.code}.svg", spec.code
        assert (settings.BASE_DIR / "static" / badge_icon(spec.code)).is_file(), spec.code


def test_head_healthz_and_the_favicon(client):
    assert client.head("/healthz").status_code in (200, 503)  # 503 only names what is down
    assert client.head("/healthz").status_code == client.get("/healthz").status_code
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon["Content-Type"] == "image/x-icon"
    assert b"".join(icon.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO file


def test_the_admin_has_plain_plurals_and_no_empty_environment_label(client):
    get_user_model().objects.create_superuser("boss", "boss@example.com", factories.PASSWORD)
    client.login(username="boss", password=factories.PASSWORD)
    html = client.get("/admin/").content.decode()
    assert "Ledger entries" in html and "Leaderboard entries" in html and "entrys" not in html
    assert "oddss" not in html
    assert "environment-label" not in html
    race = factories.RaceFactory(state="open")
    change = client.get(f"/admin/races/race/{race.pk}/change/").content.decode()
    assert "Lanes" in change and f"{race.pk}:" not in change.split("Lanes", 1)[1][:4000]
