"""The daily login bonus: once per player per New York day, on session and token logins,
even when the logins arrive at the same moment."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.points.models import LedgerEntry
from apps.points.services import daily_bonus_grant, ny_today
from tests.support.ledger import assert_ledger_balanced
from tests.support.threads import at_once

PASSWORD = "correct-horse-battery"


def daily_entries(user) -> int:
    return LedgerEntry.objects.filter(user=user, kind="daily_bonus").count()


@pytest.mark.django_db
def test_session_login_grants_the_bonus_once_a_day(client, player, settings):
    assert client.login(username="player1", password=PASSWORD)
    assert client.login(username="player1", password=PASSWORD)
    assert daily_entries(player) == 1
    total = settings.SIGNUP_BONUS + settings.DAILY_LOGIN_BONUS
    assert_ledger_balanced(player.pk, balance=total)
    entry = LedgerEntry.objects.get(user=player, kind="daily_bonus")
    assert entry.idempotency_key == f"daily:{player.pk}:{ny_today().isoformat()}"


@pytest.mark.django_db
def test_token_login_grants_it_too_and_a_failed_login_does_not(api_client, player):
    bad = api_client.post("/api/v1/auth/token/", {"username": "player1", "password": "wrong"}, format="json")
    assert bad.status_code == 401 and daily_entries(player) == 0
    for _ in range(2):
        ok = api_client.post("/api/v1/auth/token/", {"username": "player1", "password": PASSWORD}, format="json")
        assert ok.status_code == 200 and ok.json()["access"]
    assert daily_entries(player) == 1


@pytest.mark.django_db
def test_the_day_is_new_york_s():
    # 04:30 UTC on 23 Nov is still 22 Nov in New York (UTC-5 in winter); 05:30 UTC is the 23rd.
    assert ny_today(datetime(2026, 11, 23, 4, 30, tzinfo=timezone.utc)).isoformat() == "2026-11-22"
    assert ny_today(datetime(2026, 11, 23, 5, 30, tzinfo=timezone.utc)).isoformat() == "2026-11-23"
    # Summer time: UTC-4.
    assert ny_today(datetime(2026, 7, 1, 3, 59, tzinfo=timezone.utc)).isoformat() == "2026-06-30"


@pytest.mark.django_db
def test_one_bonus_per_new_york_day(player, settings):
    late_evening = datetime(2026, 11, 23, 4, 30, tzinfo=timezone.utc)  # 22 Nov, 23:30 in New York
    next_morning = datetime(2026, 11, 23, 5, 30, tzinfo=timezone.utc)  # 23 Nov, 00:30 in New York
    assert daily_bonus_grant(user_id=player.pk, now=late_evening) is not None
    assert daily_bonus_grant(user_id=player.pk, now=late_evening.replace(hour=1)) is None
    assert daily_bonus_grant(user_id=player.pk, now=next_morning) is not None
    assert daily_entries(player) == 2
    total = settings.SIGNUP_BONUS + 2 * settings.DAILY_LOGIN_BONUS
    assert_ledger_balanced(player.pk, balance=total)


@pytest.mark.django_db
def test_no_bonus_when_it_is_switched_off(client, player, settings):
    settings.DAILY_LOGIN_BONUS = 0
    assert client.login(username="player1", password=PASSWORD)
    assert daily_entries(player) == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_logins_pay_the_bonus_once(player, settings):
    """Twelve logins at once, half with a session and half with a token: one bonus."""
    def login(i):
        if i % 2:
            return Client().login(username="player1", password=PASSWORD)
        response = APIClient().post("/api/v1/auth/token/", {"username": "player1", "password": PASSWORD},
                                    format="json")
        return response.status_code == 200

    outcomes = at_once(12, login)
    assert outcomes == [True] * 12
    assert daily_entries(player) == 1
    total = settings.SIGNUP_BONUS + settings.DAILY_LOGIN_BONUS
    assert_ledger_balanced(player.pk, balance=total)
