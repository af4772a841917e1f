"""A placed bet is confirmed to the player's live channel after the commit, and only then."""
from __future__ import annotations

import json
import time

import pytest

from apps.bets.errors import BetRefused
from apps.bets.services import bet_place
from apps.core import live_keys as keys


def next_message(pubsub, timeout: float = 2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if message:
            return json.loads(message["data"])
    return None


@pytest.mark.django_db
def test_bet_confirmed_event_after_commit(bettor, race, redis_client, django_capture_on_commit_callbacks, settings):
    pubsub = redis_client.pubsub()
    pubsub.subscribe(keys.user_channel(bettor.pk))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        bet = bet_place(user=bettor, race_id=race.pk, kind="winner", stake=20, symbol="TSLA")
    assert next_message(pubsub, timeout=0.3) is None  # nothing before the commit
    for callback in callbacks:
        callback()
    event = next_message(pubsub)
    assert event["type"] == "bet_confirmed" and event["bet"]["id"] == bet.pk
    assert event["bet"]["potential_payout"] == bet.potential_payout
    assert event["balance"] == settings.SIGNUP_BONUS - 20

    settings.BET_COOLDOWN_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True) as refused:
        with pytest.raises(BetRefused):
            bet_place(user=bettor, race_id=race.pk, kind="winner", stake=5000, symbol="TSLA")
    assert refused == []  # a refusal announces nothing
    pubsub.close()
