"""Room and personal events, published to WebSocket viewers after the transaction commits.

Other apps call these from their services (publish after commit, STYLE.md habit 6):

    race_event_on_commit(race.id, "started", {"starts_at": ..., "entries": [...]})
    user_event_on_commit(user.id, {"type": "bet_confirmed", "bet": {...}})

The JSON shapes viewers receive are documented in docs/ARCHITECTURE-live.md.
"""
from __future__ import annotations

import functools
import json
import logging
import re

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from apps.core.redis import get_redis
from apps.live import keys

log = logging.getLogger(__name__)

# Types the room itself produces; an app event may not impersonate them.
RESERVED_TYPES = frozenset({"frame", "snapshot", "ping", "pong", "error"})
_TYPE_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# The last event of each type per race is kept this long for snapshots (a settled race's results).
RACE_EVENTS_TTL_SECONDS = 7 * 24 * 3600


def _check_type(event_type: object) -> str:
    if not isinstance(event_type, str) or not _TYPE_RE.match(event_type) or event_type in RESERVED_TYPES:
        raise ValueError(f"Invalid live event type {event_type!r}: lowercase word, not one of {sorted(RESERVED_TYPES)}.")
    return event_type


def dumps(obj: dict) -> str:
    """Compact JSON understanding Decimal, datetime and UUID (Django's encoder)."""
    return json.dumps(obj, cls=DjangoJSONEncoder, separators=(",", ":"))


# One round trip per event: Redis TIME is read inside the script and spliced into the JSON
# (``head`` + time + ``tail``), then the event is published (and, for rooms, kept).
_PUBLISH = """
local t = redis.call('TIME')
local message = ARGV[1] .. t[1] .. '.' .. string.format('%06d', tonumber(t[2])) .. ARGV[2]
if KEYS[2] then
  redis.call('HSET', KEYS[2], ARGV[3], message)
  redis.call('EXPIRE', KEYS[2], ARGV[4])
end
redis.call('PUBLISH', KEYS[1], message)
return message
"""


@functools.cache
def _script(url: str):
    # One client and one registered script per process (get_redis() builds a client per call).
    return get_redis().register_script(_PUBLISH)


def _publish(keys_: list[str], head: str, tail: str, *extra) -> str:
    return _script(settings.REDIS_URL)(keys=keys_, args=[head, tail, *extra])


def race_event_publish(*, race_id: int, event_type: str, payload: dict) -> str:
    """Publish one room event now (prefer ``race_event_on_commit`` from services); returns the JSON."""
    _check_type(event_type)
    race_id = int(race_id)
    head = dumps({"type": event_type, "race": race_id})[:-1] + ',"at":'
    tail = ',"data":' + dumps(payload) + "}"
    return _publish([keys.race_channel(race_id), keys.RACE_EVENTS.format(race_id)], head, tail,
                    event_type, RACE_EVENTS_TTL_SECONDS)


def user_event_publish(*, user_id: int, payload: dict) -> str:
    """Publish one personal event now (prefer ``user_event_on_commit``); returns the JSON."""
    if not isinstance(payload, dict):
        raise ValueError("A user event payload is a dict with a 'type'.")
    _check_type(payload.get("type"))
    body = dumps({**payload, "user": int(user_id)})
    return _publish([keys.user_channel(user_id)], body[:-1] + ',"at":', "}")


def _safely(publish, **kwargs) -> None:
    # Runs after the commit: the data is already saved, so a Redis hiccup must not turn a
    # successful request into an error. The viewer's next snapshot shows the state anyway.
    try:
        publish(**kwargs)
    except Exception:  # noqa: BLE001 - logged with the traceback, never re-raised after commit
        log.exception("live event not published: %s", kwargs)


def race_event_on_commit(race_id: int, event_type: str, payload: dict) -> None:
    """Push ``event_type`` (opened, started, finished, settled, cancelled, odds, ...) to the race
    room once the current transaction commits (at once outside a transaction)."""
    _check_type(event_type)  # a programming error is raised now, inside the caller's request
    transaction.on_commit(lambda: _safely(race_event_publish, race_id=race_id, event_type=event_type,
                                          payload=payload))


def user_event_on_commit(user_id: int, payload: dict) -> None:
    """Push a personal event (``payload["type"]``: bet_confirmed, payout, rank, badge, alert, ...)
    to the user's /ws/me/ sockets once the current transaction commits."""
    if not isinstance(payload, dict):
        raise ValueError("A user event payload is a dict with a 'type'.")
    _check_type(payload.get("type"))
    transaction.on_commit(lambda: _safely(user_event_publish, user_id=user_id, payload=payload))
