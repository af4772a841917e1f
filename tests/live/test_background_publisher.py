"""Personal events handed to the background publisher (the bet confirmation) arrive in order,
in the same shape as events published in the caller, and none is lost when the process exits."""
import json
import subprocess
import sys
import time

from django.conf import settings

from apps.core import live_keys as keys
from apps.core.events import user_event_publish, user_event_publish_later


def _listen(redis_client, channel):
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel)
    pubsub.get_message(timeout=1)  # the subscribe confirmation
    return pubsub


def _collect(pubsub, count, timeout=10.0):
    events, deadline = [], time.monotonic() + timeout
    while len(events) < count and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.2)
        if message:
            events.append(json.loads(message["data"]))
    return events


def test_background_events_arrive_in_order_in_the_usual_shape(redis_client):
    pubsub = _listen(redis_client, keys.user_channel(41))
    user_event_publish(user_id=41, payload={"type": "payout", "n": -1})
    for n in range(300):
        user_event_publish_later(user_id=41, payload={"type": "bet_confirmed", "n": n})
    events = _collect(pubsub, 301)
    assert [e["n"] for e in events] == list(range(-1, 300))
    direct, queued = events[0], events[1]
    assert set(direct) == set(queued) == {"type", "n", "user", "at", "seq"}
    assert queued["user"] == 41 and isinstance(queued["at"], float) and queued["at"] >= direct["at"]
    # One numbering per player, whichever way an event goes out (the HTTP fallback resumes by it).
    assert [e["seq"] for e in events] == list(range(direct["seq"], direct["seq"] + 301))


def test_events_queued_just_before_the_process_exits_are_sent(redis_client):
    pubsub = _listen(redis_client, keys.user_channel(42))
    code = ("import django; django.setup()\n"
            "from apps.core.events import user_event_publish_later\n"
            "for n in range(50): user_event_publish_later(user_id=42, payload={'type': 'bet_confirmed', 'n': n})\n")
    env_redis = settings.REDIS_URL
    subprocess.run([sys.executable, "-c", code], check=True, cwd=settings.BASE_DIR, timeout=60,
                   env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "stockrace.settings",
                        "REDIS_URL": env_redis, "STOCKRACE_TESTING": "1"})
    assert [e["n"] for e in _collect(pubsub, 50)] == list(range(50))
