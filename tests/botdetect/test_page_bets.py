"""Page bets are held to the API's rate limits (one preflight for every route) and recorded for
fair play like API bets."""
from __future__ import annotations

import pytest
from django.test import Client

from apps.bets.models import Bet
from apps.races.models import Race
from tests.botdetect.conftest import rates
from tests.support.factories import RaceFactory, UserFactory

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def page_bet(client, race, addr):
    return client.post(f"/races/{race.pk}/bet/", {"kind": "winner", "stake": "5", "symbol": "AAA"},
                       REMOTE_ADDR=addr, **HX)


def test_the_per_player_limit_applies_to_page_bets(settings):
    settings.BET_COOLDOWN_SECONDS = 0
    rates(settings, bets_user="2/min", bets_ip="1000/min")
    race = RaceFactory(state=Race.State.OPEN)
    player = UserFactory()
    client = Client()
    client.force_login(player)
    assert [page_bet(client, race, "198.51.100.40").status_code for _ in range(2)] == [200, 200]
    refused = page_bet(client, race, "198.51.100.40")
    assert refused.status_code == 429 and "Too many bets" in refused.content.decode()
    assert Bet.objects.filter(user=player).count() == 2


def test_the_per_address_limit_counts_page_and_api_bets_together(settings, api_client):
    settings.BET_COOLDOWN_SECONDS = 0
    rates(settings, bets_user="1000/min", bets_ip="2/hour")
    race = RaceFactory(state=Race.State.OPEN)
    api_client.force_authenticate(UserFactory())
    assert api_client.post(f"/api/v1/races/{race.pk}/bets/", {"kind": "winner", "stake": 5, "symbol": "AAA"},
                           format="json", REMOTE_ADDR="198.51.100.41").status_code == 201
    page = Client()
    page.force_login(UserFactory())
    assert page_bet(page, race, "198.51.100.41").status_code == 200
    assert page_bet(page, race, "198.51.100.41").status_code == 429  # the address's third bet, by any route
    # A forged X-Forwarded-For from a direct client is no way around it.
    forged = page.post(f"/races/{race.pk}/bet/", {"kind": "winner", "stake": "5", "symbol": "AAA"},
                       REMOTE_ADDR="198.51.100.41", HTTP_X_FORWARDED_FOR="203.0.113.99", **HX)
    assert forged.status_code == 429
    assert Bet.objects.filter(race=race, client_ip="198.51.100.41").count() == 2
