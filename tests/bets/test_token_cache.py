"""The bet path's token check (apps.bets.auth): a token verified once is not verified again until
it expires, but an expired, tampered or foreign token is always refused."""
from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework_simplejwt.tokens import AccessToken

from apps.bets.auth import PlayerTokenAuthentication
from apps.bets.services import race_odds_publish
from tests.support.factories import UserFactory

BODY = {"kind": "winner", "stake": 1, "symbol": "AAPL"}


@pytest.fixture(autouse=True)
def _empty_cache():
    PlayerTokenAuthentication.verified.clear()
    yield
    PlayerTokenAuthentication.verified.clear()


def _post(client, race, token):
    return client.post(f"/api/v1/races/{race.pk}/bets/", BODY, content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.mark.django_db
def test_a_verified_token_is_remembered_and_names_its_player(client, race, settings):
    settings.BET_COOLDOWN_SECONDS = 0
    race_odds_publish(race_id=race.pk)
    player = UserFactory(username="cached")
    token = str(AccessToken.for_user(player))
    assert _post(client, race, token).status_code == 201
    assert token.encode() in PlayerTokenAuthentication.verified
    second = _post(client, race, token)
    assert second.status_code == 201 and second.json()["race"] == race.pk
    from apps.bets.models import Bet
    assert Bet.objects.filter(user=player).count() == 2


@pytest.mark.django_db
def test_an_expired_token_is_refused_even_when_remembered(client, race):
    race_odds_publish(race_id=race.pk)
    player = UserFactory(username="expired")
    token = AccessToken.for_user(player)
    token.set_exp(lifetime=timedelta(seconds=-1))
    raw = str(token)
    # As if it had been verified while still valid: the expiry is checked on every request.
    PlayerTokenAuthentication.verified[raw.encode()] = (token.payload["exp"], token)
    response = _post(client, race, raw)
    assert response.status_code == 401
    assert raw.encode() not in PlayerTokenAuthentication.verified


@pytest.mark.django_db
def test_a_tampered_token_is_refused(client, race):
    race_odds_publish(race_id=race.pk)
    good = str(AccessToken.for_user(UserFactory(username="honest")))
    assert _post(client, race, good).status_code in (201, 429)
    header, payload, signature = good.split(".")
    forged = f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    assert _post(client, race, forged).status_code == 401
    assert forged.encode() not in PlayerTokenAuthentication.verified
