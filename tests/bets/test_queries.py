"""The bet path's query count: one statement per bet, in autocommit (no BEGIN, no COMMIT),
once the race's odds are published.

Counted in transactional tests, as in production: inside the usual test transaction the
statement would be wrapped in a SAVEPOINT and its RELEASE instead.
"""
from __future__ import annotations

import pytest
from django.db import connection
from rest_framework_simplejwt.tokens import AccessToken

from apps.bets.models import Bet
from apps.bets.services import bet_place, race_odds_publish
from tests.support.factories import UserFactory


@pytest.mark.django_db(transaction=True)
def test_bet_place_is_one_statement_in_autocommit(race, django_assert_num_queries, settings):
    settings.BET_COOLDOWN_SECONDS = 0
    race_odds_publish(race_id=race.pk)
    player = UserFactory(username="counted")
    with django_assert_num_queries(1):  # the bet: atomic by itself
        bet_place(user=player, race_id=race.pk, kind="winner", stake=5, symbol="AAPL")
    # ... and prepared on the server: planned once per connection, not per bet (apps.core.db).
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("INSERT INTO bets_bet" in statement for statement in prepared)
    with django_assert_num_queries(1):
        bet_place(user=player, race_id=race.pk, kind="podium", stake=5, symbols=["AAPL", "MSFT", "TSLA"])
    assert Bet.objects.filter(user=player).count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_http_request_reads_no_user_row(client, race, django_assert_num_queries):
    race_odds_publish(race_id=race.pk)
    player = UserFactory(username="http-counted")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {AccessToken.for_user(player)}"}
    with django_assert_num_queries(1):  # the bet statement alone: the token names the player
        response = client.post(f"/api/v1/races/{race.pk}/bets/", {"kind": "winner", "stake": 5, "symbol": "MSFT"},
                               content_type="application/json", **auth)
    assert response.status_code == 201


@pytest.mark.django_db
def test_my_bets_is_paginated_newest_first(bettor_client, bettor, race, settings, django_assert_max_num_queries):
    settings.BET_COOLDOWN_SECONDS = 0
    for symbol in ("AAPL", "MSFT", "TSLA"):
        bet_place(user=bettor, race_id=race.pk, kind="winner", stake=5, symbol=symbol)
    with django_assert_max_num_queries(2):
        body = bettor_client.get("/api/v1/me/bets/?page_size=2").json()
    assert body["count"] == 3 and [b["symbol"] for b in body["results"]] == ["TSLA", "MSFT"]
    assert bettor_client.get(f"/api/v1/me/bets/?race={race.pk + 1}").json()["count"] == 0
    assert bettor_client.get("/api/v1/me/bets/?race=x").status_code == 400
