"""badge_unlocked reaches the player's /ws/me/ channel, only after the award commits; settlement
queues the evaluation itself."""
from __future__ import annotations

import json

import pytest
from django.db import transaction
from rest_framework_simplejwt.tokens import AccessToken

import celery_app  # noqa: F401 - the configured Celery app (eager under tests) owns the shared tasks
from apps.badges.services import badges_evaluate_race
from apps.core import live_keys as keys
from apps.core.redis import get_redis
from apps.races import settlement
from apps.races.models import Race
from tests.badges.conftest import PCT, held, settled_race
from tests.live.conftest import connect, run_async  # noqa: F401 - run_async is a fixture
from tests.support import factories as f
from tests.support.ledger import assert_ledger_balanced


def listen(*user_ids):
    pubsub = get_redis().pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(*(keys.user_channel(u) for u in user_ids))
    pubsub.get_message(timeout=1)
    return pubsub


def drain(pubsub) -> list[dict]:
    out = []
    while (message := pubsub.get_message(timeout=0.5)) is not None:
        if message["type"] == "message":
            out.append(json.loads(message["data"]))
    return out


@pytest.mark.django_db
def test_badge_unlocked_is_published_after_commit_in_the_toast_shape(catalog, django_capture_on_commit_callbacks):
    alice, bob = f.UserFactory(balance=10_000, username="alice_e"), f.UserFactory(balance=10_000, username="bob_e")
    race = settled_race([(alice, {"symbol": "AAA"}), (bob, {"symbol": "DDD"})])
    pubsub = listen(alice.pk, bob.pk)

    with django_capture_on_commit_callbacks(execute=True):
        badges_evaluate_race(race_id=race.pk)
        assert drain(pubsub) == []  # nothing before the commit
    events = [e for e in drain(pubsub) if e["type"] == "badge_unlocked"]
    assert sorted((e["user"], e["badge"]["code"]) for e in events) == sorted(
        [(alice.pk, "first_bet"), (alice.pk, "first_win"), (bob.pk, "first_bet")])
    first_win = next(e for e in events if e["badge"]["code"] == "first_win")
    badge = catalog["first_win"]
    # static/js/toasts.js shows badge.name and badge.rarity.
    assert first_win["badge"] == {"code": "first_win", "name": badge.name, "description": badge.description,
                                  "icon": badge.icon, "rarity": badge.tier, "reward": badge.reward}
    assert first_win["race_id"] == race.pk and isinstance(first_win["at"], float)

    with django_capture_on_commit_callbacks(execute=True):
        badges_evaluate_race(race_id=race.pk)
    assert drain(pubsub) == []  # nothing new, nothing said


@pytest.mark.django_db
def test_a_rolled_back_award_publishes_nothing(catalog, django_capture_on_commit_callbacks):
    alice = f.UserFactory(balance=10_000)
    race = settled_race([(alice, {"symbol": "AAA"})])
    pubsub = listen(alice.pk)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            badges_evaluate_race(race_id=race.pk)
            raise RuntimeError("rollback")
    assert callbacks == [] and drain(pubsub) == []


@pytest.mark.django_db
def test_settlement_queues_the_evaluation_on_commit(catalog, django_capture_on_commit_callbacks):
    alice = f.UserFactory(balance=10_000)
    race = f.RaceFactory(state=Race.State.CALCULATING)
    f.lock_results(race, PCT)
    f.BetFactory(race=race, user=alice, symbol="AAA")
    pubsub = listen(alice.pk)
    with django_capture_on_commit_callbacks(execute=True):  # eager Celery: the task runs on commit
        settlement.race_settle(race_id=race.pk)
    assert held(alice) == {"first_bet", "first_win"}
    assert {e["badge"]["code"] for e in drain(pubsub) if e["type"] == "badge_unlocked"} == {"first_bet", "first_win"}
    assert_ledger_balanced()


@pytest.mark.django_db(transaction=True)
def test_the_event_reaches_the_players_websocket(catalog, hold_badge_task, run_async):
    from channels.db import database_sync_to_async

    alice = f.UserFactory(balance=10_000, username="alice_ws")
    race = settled_race([(alice, {"symbol": "AAA"})])
    token = str(AccessToken.for_user(alice))

    async def scenario():
        ws = connect("/ws/me/", headers=[(b"authorization", f"Bearer {token}".encode())])
        assert (await ws.connect())[0]
        assert json.loads(await ws.receive_from(timeout=5)) == {"type": "hello", "user": alice.pk}
        await database_sync_to_async(badges_evaluate_race)(race_id=race.pk)
        unlocked = set()
        while len(unlocked) < 2:
            event = json.loads(await ws.receive_from(timeout=5))
            if event["type"] == "badge_unlocked":
                unlocked.add(event["badge"]["name"])
        assert unlocked == {catalog["first_bet"].name, catalog["first_win"].name}
        await ws.disconnect()

    run_async(scenario)
