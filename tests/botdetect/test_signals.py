"""Each signal, from real requests (the API through Django's stack, sign-ups with their headers)
on real PostgreSQL and Redis: what a bot does raises it, what a person does does not."""
from __future__ import annotations

import random
import time
from datetime import timedelta
from decimal import Decimal

import pytest

from apps.botdetect.models import Sighting, Suspicion
from apps.botdetect.recording import observations_drain
from apps.botdetect.services import suspicion_rescore
from apps.core.redis import redis_now
from apps.races.models import Race
from tests.botdetect.conftest import backdate, opened, settle_as
from tests.support.factories import RaceFactory, UserFactory

pytestmark = pytest.mark.django_db
APP_UA = "StockRace/2.4 (Android 14; Pixel 8)"
HUMAN = {"HTTP_USER_AGENT": APP_UA, "HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9", "HTTP_ACCEPT": "application/json"}


@pytest.fixture(autouse=True)
def _rules(settings):
    settings.BET_COOLDOWN_SECONDS = 0


def bet(client, user, race, symbol="AAA", stake=10, **headers):
    client.force_authenticate(user)
    response = client.post(f"/api/v1/races/{race.pk}/bets/", {"kind": "winner", "stake": stake, "symbol": symbol},
                           format="json", **{"REMOTE_ADDR": "198.51.100.1", **HUMAN, **headers})
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def signals_of(user) -> dict:
    """Rescore the player (as the tasks do), and return their signals by kind, strength 0 included."""
    from django.utils import timezone

    from apps.botdetect.signals import Player, signals_for

    suspicion_rescore(user_ids=[user.pk])
    now = timezone.now()
    found = signals_for([Player(user_id=user.pk, since=now - timedelta(days=14), joined=user.date_joined)], now=now)
    return {s.kind: s.as_dict() for s in found[user.pk]}


def open_race(opened_ago: float) -> Race:
    race = RaceFactory(state=Race.State.OPEN)
    return opened(race, at=redis_now() - timedelta(seconds=opened_ago))


def opened_before(bet_id: int, seconds: float) -> None:
    """Record the bet's race as opened ``seconds`` before the bet (whatever the request took)."""
    from apps.bets.models import Bet

    placed = Bet.objects.select_related("race").get(pk=bet_id)
    opened(placed.race, at=placed.placed_at - timedelta(seconds=seconds))


def test_bets_milliseconds_after_opening(api_client):
    bot, person = UserFactory(), UserFactory()
    for _ in range(4):
        opened_before(bet(api_client, bot, RaceFactory(state=Race.State.OPEN)), 0.05)
        opened_before(bet(api_client, person, RaceFactory(state=Race.State.OPEN)), 25)
    timing = signals_of(bot)["timing"]
    histogram = timing["evidence"]["histogram_after_open"]
    assert timing["strength"] == 1.0 and histogram["<100 ms"] + histogram["<500 ms"] + histogram["<1.5 s"] == 4
    assert signals_of(person)["timing"]["strength"] == 0.0
    assert Suspicion.objects.get(user=bot).status == Suspicion.Status.QUEUED


def test_machine_regular_intervals(api_client):
    bot, person = UserFactory(), UserFactory()
    rng = random.Random(7)
    start = redis_now() - timedelta(hours=1)
    race = open_race(opened_ago=30)
    for i in range(12):
        backdate(bet(api_client, bot, race, stake=1), start + timedelta(seconds=30 * i + rng.uniform(0, 0.05)))
        backdate(bet(api_client, person, race, stake=1), start + timedelta(seconds=sum(rng.uniform(5, 90) for _ in range(i))))
    assert signals_of(bot)["regularity"]["strength"] == 1.0
    assert signals_of(person)["regularity"]["strength"] == 0.0


def test_improbable_accuracy_given_the_odds(api_client):
    from apps.bets.models import Bet

    oracle, lucky = UserFactory(balance=5000), UserFactory(balance=5000)
    for i in range(14):
        race = open_race(opened_ago=30)
        bet(api_client, oracle, race, symbol="BBB")
        bet(api_client, lucky, race, symbol="BBB" if i < 4 else "CCC")  # four in a row, then the usual
        # BBB wins every race: settled as settlement leaves bets (status by result), at even odds
        # for four stocks (a 25 % chance each, whatever the odds model of the day).
        Bet.objects.filter(race=race).update(odds=Decimal("3.80"))
        Bet.objects.filter(race=race, symbol="BBB").update(status="won", payout=40)
        Bet.objects.filter(race=race).exclude(symbol="BBB").update(status="lost")
    accuracy = signals_of(oracle)["accuracy"]
    assert accuracy["strength"] == 1.0 and accuracy["evidence"]["hits"] == 14
    assert accuracy["evidence"]["p_value"] < 1e-6
    assert signals_of(lucky)["accuracy"]["strength"] == 0.0


def test_identical_bets_across_accounts(api_client):
    from apps.botdetect.copies import copies_find

    leader, follower, stranger = UserFactory(balance=5000), UserFactory(balance=5000), UserFactory(balance=5000)
    for i in range(5):
        race = open_race(opened_ago=30)
        pick = "ABCD"[i % 4] * 3
        bet(api_client, leader, race, symbol=pick, stake=37)
        bet(api_client, follower, race, symbol=pick, stake=37)
        bet(api_client, stranger, race, symbol=pick, stake=10)  # same pick, another stake: not a copy
        copies_find(race_id=race.pk)
    coordination = signals_of(follower)["coordination"]
    assert coordination["strength"] == 1.0
    assert coordination["evidence"]["partners"][0] == {"user_id": leader.pk, "matching_races": 5, "share": 1.0,
                                                        "strength": 1.0}
    assert "coordination" not in signals_of(stranger)


def _drain_until(predicate):
    for _ in range(100):  # the background publisher delivers within a moment
        observations_drain()
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("observations never arrived")


def test_shared_device_and_address_from_bets_and_signups(api_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        farm = [api_client.post("/api/v1/auth/register/", {"username": f"farm{i}", "password": "tr1cky-Passphrase"},
                                format="json", REMOTE_ADDR="203.0.113.50", HTTP_X_DEVICE="dev-farm-0001",
                                **HUMAN).json()["id"] for i in range(5)]
    from django.contrib.auth import get_user_model

    first = get_user_model().objects.get(pk=farm[0])
    found = signals_of(first)
    assert found["signup_burst"]["evidence"]["burst_size"] == 5 and found["signup_burst"]["strength"] > 0.5
    assert found["shared_device"]["strength"] == 1.0
    assert set(found["shared_device"]["evidence"]["accounts"]) == set(farm[1:])
    assert found["shared_address"]["evidence"]["accounts"] == sorted(farm[1:])
    # Flagged for review at creation, never restricted by identity alone.
    case = Suspicion.objects.get(user_id=farm[-1])
    assert case.status == Suspicion.Status.QUEUED and not first.is_shadow_restricted
    # A bet's device reaches the sightings through Redis and the drain.
    race = open_race(opened_ago=30)
    player = UserFactory()
    bet(api_client, player, race, HTTP_X_DEVICE="dev-farm-0001", REMOTE_ADDR="203.0.113.50")
    _drain_until(lambda: Sighting.objects.filter(user=player, kind="device", value="dev-farm-0001").exists())
    assert "shared_device" in signals_of(player)


def test_one_phone_model_shared_across_networks_is_not_multi_accounting(api_client,
                                                                        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        users = [api_client.post("/api/v1/auth/register/", {"username": f"iphone{i}", "password": "tr1cky-Passphrase"},
                                 format="json", REMOTE_ADDR=f"198.51.{i}.20", HTTP_X_DEVICE="iphone15-safari-17",
                                 **HUMAN).json()["id"] for i in range(6)]  # six networks
    from django.contrib.auth import get_user_model

    found = signals_of(get_user_model().objects.get(pk=users[0]))
    assert found["shared_device"]["strength"] == 0.0
    assert Suspicion.objects.filter(user_id__in=users, status__in=["queued", "restricted"]).count() == 0


def test_request_fingerprint_of_a_script(api_client):
    script, person = UserFactory(), UserFactory()
    race = open_race(opened_ago=30)
    bet(api_client, script, race, HTTP_USER_AGENT="python-requests/2.32.3", HTTP_ACCEPT_LANGUAGE="")
    bet(api_client, person, race)
    _drain_until(lambda: Sighting.objects.filter(kind="client", user__in=[script, person]).count() == 2)
    client = signals_of(script)["client"]
    assert client["strength"] == 1.0 and client["evidence"]["clients"][0]["via"] == "api"
    assert "client" not in signals_of(person)


def test_two_kinds_of_signal_above_the_action_threshold_restrict_at_once(api_client):
    """Instant bets at machine-regular intervals from a script: timing, regularity and client."""
    bot = UserFactory()
    start = redis_now() - timedelta(minutes=30)
    for i in range(10):
        race = RaceFactory(state=Race.State.OPEN)
        placed = start + timedelta(seconds=60 * i)
        backdate(bet(api_client, bot, race, HTTP_USER_AGENT="Go-http-client/1.1"), placed)
        opened(race, at=placed - timedelta(milliseconds=40))
    _drain_until(lambda: Sighting.objects.filter(kind="client", user=bot).exists())
    suspicion_rescore(user_ids=[bot.pk])
    bot.refresh_from_db()
    case = Suspicion.objects.get(user=bot)
    assert case.status == Suspicion.Status.RESTRICTED and case.kinds >= 2 and case.score >= 70
    assert bot.is_shadow_restricted
    assert case.user.fairplay_decisions.filter(action="auto_restrict", staff=None).exists()
