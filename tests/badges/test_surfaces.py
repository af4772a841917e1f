"""Where players and staff see badges: the API, the profile page's showcase, the admin."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from apps.badges.catalog import CATALOG
from apps.badges.models import Badge
from apps.badges.services import badges_evaluate_race
from tests.badges.conftest import settled_race
from tests.support import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_with_badges(catalog):
    alice = f.UserFactory(balance=10_000, username="alice_s")
    race = settled_race([(alice, {"symbol": "AAA"})])
    badges_evaluate_race(race_id=race.pk)
    return alice, race


def test_my_badges_lists_every_badge_earned_first(api_client, alice_with_badges):
    alice, race = alice_with_badges
    api_client.force_authenticate(alice)
    body = api_client.get("/api/v1/me/badges/").json()

    assert body["username"] == "alice_s" and body["count"] == len(CATALOG) and body["earned"] == 2
    codes = [b["code"] for b in body["results"]]
    assert sorted(codes[:2]) == ["first_bet", "first_win"] and set(codes) == {s.code for s in CATALOG}
    first_win = next(b for b in body["results"] if b["code"] == "first_win")
    assert first_win["earned"] is True and first_win["race_id"] == race.pk and first_win["awarded_at"]
    locked = next(b for b in body["results"] if b["code"] == "jackpot")
    assert (locked["earned"], locked["awarded_at"], locked["race_id"]) == (False, None, None)
    assert locked["rarity"] == "legendary" and locked["reward"] == Badge.objects.get(code="jackpot").reward


def test_my_badges_needs_a_login(api_client, catalog):
    response = api_client.get("/api/v1/me/badges/")
    assert response.status_code == 401 and response.json()["error"]["code"]


def test_a_players_public_badges_and_an_unknown_player(api_client, alice_with_badges):
    body = api_client.get("/api/v1/players/alice_s/badges/").json()
    assert body["earned"] == 2 and {b["code"] for b in body["results"] if b["earned"]} == {"first_bet", "first_win"}
    missing = api_client.get("/api/v1/players/nobody-here/badges/")
    assert missing.status_code == 404
    assert missing.json()["error"] == {"code": "not_found", "message": "There is no player 'nobody-here'.", "fields": {}}


def test_a_retired_badge_shows_only_to_its_holders(api_client, alice_with_badges):
    alice, _ = alice_with_badges
    bob = f.UserFactory(balance=10_000, username="bob_s")
    Badge.objects.filter(code__in=["first_win", "jackpot"]).update(active=False)
    alices = {b["code"] for b in api_client.get("/api/v1/players/alice_s/badges/").json()["results"]}
    bobs = {b["code"] for b in api_client.get(f"/api/v1/players/{bob.username}/badges/").json()["results"]}
    assert "first_win" in alices and "jackpot" not in alices
    assert not {"first_win", "jackpot"} & bobs


def test_the_showcase_costs_one_query(alice_with_badges, django_assert_num_queries):
    from apps.badges.selectors import badge_showcase

    alice, _ = alice_with_badges
    with django_assert_num_queries(1):
        badge_showcase(user_id=alice.pk)


@pytest.mark.parametrize("own", [True, False])
def test_profile_shows_earned_badges_with_their_date_and_locked_ones_greyed(client, alice_with_badges, own):
    alice, race = alice_with_badges
    if own:
        client.force_login(alice)
    html = client.get("/u/alice_s/").content.decode()
    assert f"2 of {len(CATALOG)} earned" in html
    assert 'class="badge rarity-common" title="Called your first bet right." data-badge="first_win"' in html
    assert f'href="/races/{race.pk}/">race #{race.pk}</a>' in html and "Earned " in html
    assert 'class="badge rarity-legendary locked"' in html and "Not earned yet" in html
    assert html.count(" locked\"") == len(CATALOG) - 2


def test_profile_of_a_player_without_badges(client, catalog):
    f.UserFactory(balance=10_000, username="newbie")
    html = client.get("/u/newbie/").content.decode()
    assert f"0 of {len(CATALOG)} earned" in html and "No badges earned yet." in html


@pytest.fixture
def staff_client(client):
    staff = get_user_model().objects.create_user(username="staff_b", password="x", is_staff=True, is_superuser=True)
    client.force_login(staff)
    return client


def test_admin_lists_filters_and_searches_awards(staff_client, alice_with_badges):
    badge = Badge.objects.get(code="first_win")
    for url in ("/admin/badges/badge/", "/admin/badges/userbadge/", f"/admin/badges/userbadge/?badge__id__exact={badge.pk}",
                "/admin/badges/userbadge/?q=alice_s", f"/admin/badges/badge/{badge.pk}/change/"):
        assert staff_client.get(url).status_code == 200, url
    assert "alice_s" in staff_client.get("/admin/badges/userbadge/?q=alice_s").content.decode()
    assert "alice_s" not in staff_client.get("/admin/badges/userbadge/?q=nobody").content.decode()
    assert staff_client.get("/admin/badges/badge/add/").status_code == 403


def test_admin_edits_text_reward_and_active_but_not_the_code(staff_client, catalog):
    badge = Badge.objects.get(code="first_win")
    response = staff_client.post(f"/admin/badges/badge/{badge.pk}/change/", {
        "name": "Winner!", "description": "Won a bet.", "reward": "75", "active": "", "code": "hacked",
        "tier": "legendary"})
    assert response.status_code == 302
    badge.refresh_from_db()
    assert (badge.code, badge.tier, badge.name, badge.description, badge.reward, badge.active) == (
        "first_win", "common", "Winner!", "Won a bet.", 75, False)
