"""Room and personal events go out only after the transaction commits, in the documented shape."""
import json

import pytest
from django.db import transaction

from apps.core import live_keys as keys
from apps.core.events import race_event_on_commit, user_event_on_commit


def _listen(redis_client, channel):
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel)
    pubsub.get_message(timeout=1)  # the subscribe confirmation
    return pubsub


def _next(pubsub):
    message = pubsub.get_message(timeout=1)
    return json.loads(message["data"]) if message else None


def test_race_event_is_published_after_commit_and_kept_for_snapshots(redis_client, db,
                                                                     django_capture_on_commit_callbacks):
    pubsub = _listen(redis_client, keys.race_channel(7))
    with django_capture_on_commit_callbacks(execute=True):
        race_event_on_commit(7, "started", {"entries": [1, 2]})
        assert _next(pubsub) is None  # nothing before the commit
    event = _next(pubsub)
    assert event["type"] == "started" and event["race"] == 7 and event["data"] == {"entries": [1, 2]}
    assert isinstance(event["at"], float)
    assert json.loads(redis_client.hget(keys.RACE_EVENTS.format(7), "started")) == event


def test_rolled_back_event_is_never_published(redis_client, db, django_capture_on_commit_callbacks):
    pubsub = _listen(redis_client, keys.user_channel(3))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            user_event_on_commit(3, {"type": "payout", "amount": 10})
            raise RuntimeError("rollback")
    assert callbacks == [] and _next(pubsub) is None


def test_user_event_carries_its_payload(redis_client, db, django_capture_on_commit_callbacks):
    pubsub = _listen(redis_client, keys.user_channel(3))
    with django_capture_on_commit_callbacks(execute=True):
        user_event_on_commit(3, {"type": "badge", "badge": "first-win"})
    event = _next(pubsub)
    assert event["type"] == "badge" and event["badge"] == "first-win" and event["user"] == 3


@pytest.mark.parametrize("bad", ["frame", "snapshot", "Started", "", None, "has space"])
def test_reserved_or_malformed_types_are_refused(bad):
    with pytest.raises(ValueError):
        race_event_on_commit(1, bad, {})
    with pytest.raises(ValueError):
        user_event_on_commit(1, {"type": bad})


def test_an_event_on_a_named_channel_is_published_after_commit_in_the_room_shape(redis_client, db,
                                                                                  django_capture_on_commit_callbacks):
    from apps.core.events import channel_event_on_commit

    channel = "t-test:named-channel"
    pubsub = _listen(redis_client, channel)
    with django_capture_on_commit_callbacks(execute=True):
        channel_event_on_commit(channel=channel, event_type="trade", subject={"market": 9}, payload={"seq": 4})
        assert _next(pubsub) is None  # nothing before the commit
    event = _next(pubsub)
    assert event["type"] == "trade" and event["market"] == 9 and event["data"] == {"seq": 4}
    assert isinstance(event["at"], float)
    with pytest.raises(ValueError):
        channel_event_on_commit(channel=channel, event_type="frame", subject={}, payload={})
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            channel_event_on_commit(channel=channel, event_type="trade", subject={"market": 9}, payload={})
            raise RuntimeError("rollback")
    assert callbacks == [] and _next(pubsub) is None
