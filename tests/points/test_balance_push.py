"""Every movement of points reaches the player's /ws/me/ as a "balance" event after the commit:
a staff adjustment, a bonus, set-based credits (refunds, payouts); nothing for a replay, nothing
for a rolled-back movement."""
from __future__ import annotations

import time

import orjson
import pytest
from django.db import connection, transaction

from apps.core import live_keys as keys
from apps.core.redis import get_redis
from apps.points import ledger
from apps.points.services import points_adjust

pytestmark = pytest.mark.django_db


@pytest.fixture
def listen():
    pubsub = get_redis().pubsub()

    def subscribe(*users):
        pubsub.subscribe(*(keys.user_channel(u.pk) for u in users))
        while pubsub.get_message(timeout=0.2) is not None:
            pass  # the subscribe confirmations
        return pubsub

    yield subscribe
    pubsub.close()


def balances(pubsub, *, wait: float = 3.0, quiet: float = 0.3) -> list[tuple[int, int]]:
    """(user, balance) of each "balance" event received until none came for ``quiet`` seconds."""
    out, deadline, last = [], time.monotonic() + wait, time.monotonic()
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.05)
        if message and message["type"] == "message":
            event = orjson.loads(message["data"])
            if event["type"] == "balance":
                out.append((event["user"], event["balance"]))
            last = time.monotonic()
        elif out and time.monotonic() - last > quiet:
            break
    return out


def test_a_staff_adjustment_is_pushed_with_the_new_balance(player, listen, settings,
                                                           django_capture_on_commit_callbacks):
    pubsub = listen(player)
    with django_capture_on_commit_callbacks(execute=True):
        points_adjust(user_id=player.pk, amount=250, reason="contest prize", idempotency_key="t-1")
    assert balances(pubsub) == [(player.pk, settings.SIGNUP_BONUS + 250)]
    with django_capture_on_commit_callbacks(execute=True):
        points_adjust(user_id=player.pk, amount=250, reason="contest prize", idempotency_key="t-1")  # a replay
    assert balances(pubsub, wait=1.0) == []


def test_nothing_is_pushed_for_a_movement_rolled_back(player, listen, django_capture_on_commit_callbacks):
    pubsub = listen(player)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            points_adjust(user_id=player.pk, amount=40, reason="oops")
            raise RuntimeError("the caller fails after the movement")
    assert callbacks == [] and balances(pubsub, wait=1.0) == []


def test_set_based_credits_push_each_player_once(player, django_user_model, listen, settings,
                                                 django_capture_on_commit_callbacks):
    from apps.accounts.services import user_register

    other = user_register(username="player2", password="correct-horse-battery")
    pubsub = listen(player, other)
    source = ("SELECT user_id, 10 AS amount, 'gift:' || user_id || ':' || n AS key, NULL::bigint AS bet_id, "
              "NULL::text AS memo FROM points_pointsaccount, generate_series(1, 3) n WHERE user_id = ANY(%(users)s)")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic(), connection.cursor() as cursor:
        ledger.lock_accounts(cursor, user_ids=[player.pk, other.pk])
        credited = ledger.credit_many(cursor, source_sql=source, params={"users": [player.pk, other.pk]},
                                      kind=ledger.Kind.ADJUSTMENT, memo="gift")
    assert credited.entries == 6
    assert sorted(balances(pubsub)) == sorted([(player.pk, settings.SIGNUP_BONUS + 30),
                                               (other.pk, settings.SIGNUP_BONUS + 30)])
