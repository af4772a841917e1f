"""Bets under concurrency, on real PostgreSQL: no overdraft, one bet per cooldown, one bet per key.

The first two tests go through real daphne processes (HTTP, several processes so that the
transactions really overlap); the others use threads with Django's test client, each thread
on its own database connection.
"""
from __future__ import annotations

from collections import Counter

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from apps.bets.models import Bet, RaceStake
from apps.points.models import LedgerEntry
from tests.bets.factories import BetsRaceFactory
from tests.support import processes
from tests.support.factories import UserFactory
from tests.support.http import request
from tests.support.ledger import assert_ledger_balanced
from tests.support.threads import at_once

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def servers(django_db_setup, django_db_blocker):
    # Cooldown, stake cap and rate limits out of the way: only the balance limits these bets.
    # A pool large enough that 200 requests queued on one player's row lock never wait out its timeout.
    with processes.daphnes(2, BET_COOLDOWN_SECONDS=0, BET_MAX_STAKE_PER_RACE=1000000,
                           BET_RATE_LIMIT_USER="100000/min", BET_RATE_LIMIT_IP="100000/min",
                           DB_POOL_MAX_SIZE=50) as running:
        yield running


def test_200_concurrent_bets_from_a_balance_that_covers_10(servers):
    race = BetsRaceFactory()
    player = UserFactory(username="whale", balance=10 * 7)
    auth = {"Authorization": f"Bearer {AccessToken.for_user(player)}"}
    path = f"/api/v1/races/{race.pk}/bets/"

    def bet(i):
        port = servers.ports[i % len(servers.ports)]
        return request(port, "POST", path, {"kind": "winner", "stake": 7, "symbol": "AAPL"}, auth)

    results = at_once(200, bet)
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 10, 409: 190}, statuses
    refusals = [body["error"] for status, body in results if status == 409]
    assert {e["code"] for e in refusals} == {"insufficient_points"}
    assert all("this bet needs 7" in e["message"] for e in refusals)
    assert Bet.objects.filter(user=player).count() == 10
    assert LedgerEntry.objects.filter(user=player, kind="stake").count() == 10
    assert_ledger_balanced(player.pk, balance=0)
    assert RaceStake.objects.get(user=player, race=race).total == 70


def test_ten_concurrent_posts_with_one_idempotency_key_over_http(servers):
    race = BetsRaceFactory()
    player = UserFactory(username="retrier")
    headers = {"Authorization": f"Bearer {AccessToken.for_user(player)}", "Idempotency-Key": "tap-tap-tap"}
    path = f"/api/v1/races/{race.pk}/bets/"

    results = at_once(10, lambda i: request(servers.ports[i % len(servers.ports)], "POST", path,
                                                {"kind": "winner", "stake": 30, "symbol": "NVDA"}, headers))
    assert {status for status, _ in results} == {201}
    assert all(body == results[0][1] for _, body in results)
    assert Bet.objects.filter(user=player).count() == 1
    assert_ledger_balanced(player.pk)
    assert LedgerEntry.objects.filter(user=player, kind="stake").count() == 1


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_with_the_cooldown_on_a_burst_gets_exactly_one_bet_through(settings):
    # Long enough that even on a loaded machine every request of the burst reads Redis time
    # within the cooldown of the first bet (a straggler after it would rightly be accepted).
    settings.BET_COOLDOWN_SECONDS = 60.0
    race = BetsRaceFactory()
    player = UserFactory(username="burst")
    path = f"/api/v1/races/{race.pk}/bets/"

    responses = at_once(20, lambda i: client_for(player).post(
        path, {"kind": "winner", "stake": 5, "symbol": "MSFT"}, format="json"))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 429: 19}, statuses
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 429} == {"cooldown"}
    assert Bet.objects.filter(user=player).count() == 1
    assert_ledger_balanced(player.pk, balance=settings.SIGNUP_BONUS - 5)


def test_ten_concurrent_posts_with_one_key_make_one_bet_even_with_the_cooldown_on(settings):
    settings.BET_COOLDOWN_SECONDS = 60.0
    race = BetsRaceFactory()
    player = UserFactory(username="double-clicker")
    path = f"/api/v1/races/{race.pk}/bets/"

    responses = at_once(10, lambda i: client_for(player).post(
        path, {"kind": "podium", "stake": 40, "symbols": ["AAPL", "TSLA", "MSFT"]}, format="json",
        HTTP_IDEMPOTENCY_KEY="same-click"))
    assert [r.status_code for r in responses] == [201] * 10
    assert all(r.json() == responses[0].json() for r in responses)
    assert Bet.objects.filter(user=player).count() == 1
    assert_ledger_balanced(player.pk, balance=settings.SIGNUP_BONUS - 40)


def test_the_stake_cap_holds_under_concurrency(settings):
    settings.BET_COOLDOWN_SECONDS = 0
    settings.BET_MAX_STAKE_PER_RACE = 100
    race = BetsRaceFactory()
    player = UserFactory(username="capped")
    path = f"/api/v1/races/{race.pk}/bets/"

    responses = at_once(30, lambda i: client_for(player).post(
        path, {"kind": "winner", "stake": 30, "symbol": "AAPL"}, format="json"))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 3, 409: 27}, statuses
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"stake_cap"}
    assert RaceStake.objects.get(user=player, race=race).total == 90
    assert_ledger_balanced(player.pk, balance=settings.SIGNUP_BONUS - 90)
