"""GET /api/v1/me/ (balance, streak, rank) and GET /api/v1/me/ledger/ (newest first, paginated)."""
from __future__ import annotations

import pytest

from apps.bets.services import bet_place
from apps.points.services import points_adjust
from tests.bets.factories import BetsRaceFactory
from tests.support.factories import UserFactory


@pytest.mark.django_db
def test_me_shows_balance_streak_and_rank(player_client, player, settings, redis_client,
                                          django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        body = player_client.get("/api/v1/me/").json()
    assert body == {"id": player.pk, "username": "player1", "balance": settings.SIGNUP_BONUS, "streak": 0,
                    "best_streak": 0, "rank": None}

    from apps.leaderboards.models import PlayerStreak
    from apps.leaderboards.periods import redis_key

    PlayerStreak.objects.create(user=player, current=2, best=3)
    redis_client.zadd(redis_key("global"), {"999": 500, str(player.pk): 300, "998": 300, "997": 100})
    body = player_client.get("/api/v1/me/").json()
    assert (body["streak"], body["best_streak"], body["rank"]) == (2, 3, 2)


@pytest.mark.django_db
def test_me_needs_a_login(api_client):
    for url in ("/api/v1/me/", "/api/v1/me/ledger/", "/api/v1/me/bets/"):
        response = api_client.get(url)
        assert response.status_code in (401, 403) and "error" in response.json()


@pytest.mark.django_db
def test_my_ledger_newest_first_and_paginated(player_client, player, settings):
    race = BetsRaceFactory()
    points_adjust(user_id=player.pk, amount=40, reason="prize")
    bet = bet_place(user=player, race_id=race.pk, kind="winner", stake=25, symbol="AAPL")
    body = player_client.get("/api/v1/me/ledger/?page_size=2").json()
    assert body["count"] == 3 and body["next"]
    stake, adjustment = body["results"]
    assert stake["kind"] == "stake" and stake["amount"] == -25 and stake["bet"] == bet.pk and stake["race"] == race.pk
    assert stake["balance_after"] == settings.SIGNUP_BONUS + 40 - 25
    assert adjustment["kind"] == "adjustment" and adjustment["amount"] == 40
    last = player_client.get("/api/v1/me/ledger/?page_size=2&page=2").json()["results"]
    assert [e["kind"] for e in last] == ["signup_bonus"]
    # Only my own entries.
    UserFactory(username="someone-else")
    assert player_client.get("/api/v1/me/ledger/").json()["count"] == 3
