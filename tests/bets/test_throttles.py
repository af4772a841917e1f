"""Rate limits on bets per player (bets_user) and per address (bets_ip), on even where the
default throttles are off (the test settings)."""
from __future__ import annotations

import pytest

from apps.bets.models import Bet
from tests.support.factories import UserFactory


def rates(settings, **changes):
    rest = {**settings.REST_FRAMEWORK}
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], **changes}
    settings.REST_FRAMEWORK = rest


@pytest.mark.django_db
def test_per_player_limit(api_client, race, settings):
    settings.BET_COOLDOWN_SECONDS = 0
    rates(settings, bets_user="3/min", bets_ip="1000/min")
    player = UserFactory(username="eager")
    api_client.force_authenticate(player)
    url = f"/api/v1/races/{race.pk}/bets/"
    statuses = [api_client.post(url, {"kind": "winner", "stake": 1, "symbol": "AAPL"}, format="json").status_code
                for _ in range(3)]
    assert statuses == [201, 201, 201]
    response = api_client.post(url, {"kind": "winner", "stake": 1, "symbol": "AAPL"}, format="json")
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "rate_limited" and "Too many bets" in error["message"]
    assert 1 <= int(response["Retry-After"]) <= 60
    assert Bet.objects.count() == 3
    # Another player from the same address is not held back by the first one's limit.
    api_client.force_authenticate(UserFactory(username="patient"))
    assert api_client.post(url, {"kind": "winner", "stake": 1, "symbol": "AAPL"}, format="json").status_code == 201


@pytest.mark.django_db
def test_per_address_limit(api_client, race, settings):
    settings.BET_COOLDOWN_SECONDS = 0
    rates(settings, bets_user="1000/min", bets_ip="2/hour")
    url = f"/api/v1/races/{race.pk}/bets/"
    for name in ("one", "two"):
        api_client.force_authenticate(UserFactory(username=name))
        assert api_client.post(url, {"kind": "winner", "stake": 1, "symbol": "AAPL"}, format="json",
                               REMOTE_ADDR="10.0.0.7").status_code == 201
    api_client.force_authenticate(UserFactory(username="three"))
    blocked = api_client.post(url, {"kind": "winner", "stake": 1, "symbol": "AAPL"}, format="json",
                              REMOTE_ADDR="10.0.0.7")
    assert blocked.status_code == 429 and blocked.json()["error"]["code"] == "rate_limited"
    assert api_client.post(url, {"kind": "winner", "stake": 1, "symbol": "AAPL"}, format="json",
                           REMOTE_ADDR="10.0.0.8").status_code == 201
    assert Bet.objects.filter(client_ip="10.0.0.7").count() == 2


@pytest.mark.django_db
def test_a_refused_bet_counts_against_neither_limit(api_client, race, settings, redis_client):
    """Both limits are checked in one Redis call; a request one limit refuses is not counted in
    the other window (so a blocked address does not also eat its players' allowance)."""
    settings.BET_COOLDOWN_SECONDS = 0
    rates(settings, bets_user="1000/min", bets_ip="1/hour")
    url = f"/api/v1/races/{race.pk}/bets/"
    api_client.force_authenticate(UserFactory(username="first"))
    assert api_client.post(url, {"kind": "winner", "stake": 1, "symbol": "AAPL"}, format="json",
                           REMOTE_ADDR="10.0.0.9").status_code == 201
    second = UserFactory(username="second")
    api_client.force_authenticate(second)
    for _ in range(3):
        assert api_client.post(url, {"kind": "winner", "stake": 1, "symbol": "AAPL"}, format="json",
                               REMOTE_ADDR="10.0.0.9").status_code == 429
    assert redis_client.zcard(f"throttle:bets_user:{second.pk}") == 0
    assert redis_client.zcard("throttle:bets_ip:10.0.0.9") == 1
