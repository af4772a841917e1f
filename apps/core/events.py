"""Room and personal events, published to WebSocket viewers after the transaction commits.

Other apps call these from their services (publish after commit, STYLE.md habit 6):

    race_event_on_commit(race.id, "started", {"starts_at": ..., "entries": [...]})
    user_event_on_commit(user.id, {"type": "bet_confirmed", "bet": {...}})
    channel_event_on_commit(channel=..., event_type="trade", subject={"market": 7}, payload={...})

The JSON shapes viewers receive are documented in docs/ARCHITECTURE-live.md.
"""
from __future__ import annotations

import atexit
import functools
import json
import logging
import os
import queue
import re
import threading

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from apps.core.redis import get_redis
from apps.core import live_keys as keys

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


# A personal event: numbered per player ("seq", after "at") and kept among the player's last
# USER_RECENT_COUNT events for USER_RECENT_SECONDS (the HTTP fallback resumes from them), then
# published. KEYS: channel, counter, recent list; ARGV: head, tail, count, seconds, counter TTL.
_USER_PUBLISH = """
local t = redis.call('TIME')
local seq = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[5])
local message = ARGV[1] .. t[1] .. '.' .. string.format('%06d', tonumber(t[2])) .. ',"seq":' .. seq .. ARGV[2]
redis.call('RPUSH', KEYS[3], message)
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[3]), -1)
redis.call('EXPIRE', KEYS[3], ARGV[4])
redis.call('PUBLISH', KEYS[1], message)
return message
"""
USER_RECENT_COUNT = 50
USER_RECENT_SECONDS = 300
USER_SEQ_TTL_SECONDS = 30 * 24 * 3600  # a player's numbering outlives any client that could resume it


@functools.cache
def _script(url: str, source: str = _PUBLISH):
    # One client and one registered script per process (get_redis() builds a client per call).
    return get_redis().register_script(source)


def _publish(keys_: list[str], head: str, tail: str, *extra) -> str:
    return _script(settings.REDIS_URL)(keys=keys_, args=[head, tail, *extra])


def _user_event_call(user_id: int, payload: dict) -> tuple[list[str], list]:
    """The keys and arguments of _USER_PUBLISH for one event (checked, serialised)."""
    if not isinstance(payload, dict):
        raise ValueError("A user event payload is a dict with a 'type'.")
    _check_type(payload.get("type"))
    user_id = int(user_id)
    body = dumps({**payload, "user": user_id})
    return ([keys.user_channel(user_id), keys.USER_SEQ.format(user_id), keys.USER_RECENT.format(user_id)],
            [body[:-1] + ',"at":', "}", USER_RECENT_COUNT, USER_RECENT_SECONDS, USER_SEQ_TTL_SECONDS])


def _room_message(event_type: str, subject: dict, payload: dict) -> tuple[str, str]:
    """The JSON of a room event around its Redis time: {"type", **subject, "at", "data"}."""
    head = dumps({"type": event_type, **subject})[:-1] + ',"at":'
    return head, ',"data":' + dumps(payload) + "}"


def race_event_publish(*, race_id: int, event_type: str, payload: dict) -> str:
    """Publish one room event now (prefer ``race_event_on_commit`` from services); returns the JSON."""
    _check_type(event_type)
    race_id = int(race_id)
    head, tail = _room_message(event_type, {"race": race_id}, payload)
    return _publish([keys.race_channel(race_id), keys.RACE_EVENTS.format(race_id)], head, tail,
                    event_type, RACE_EVENTS_TTL_SECONDS)


def channel_event_publish(*, channel: str, event_type: str, subject: dict, payload: dict) -> str:
    """Publish one event now on the pub/sub channel ``channel``, shaped like a room event:
    ``{"type": event_type, **subject, "at": <Redis time>, "data": payload}`` (``subject`` names
    what it is about, e.g. ``{"market": 7}``). Prefer ``channel_event_on_commit``; returns the JSON."""
    _check_type(event_type)
    head, tail = _room_message(event_type, subject, payload)
    return _publish([channel], head, tail)


def user_event_publish(*, user_id: int, payload: dict) -> str:
    """Publish one personal event now (prefer ``user_event_on_commit``); returns the JSON."""
    keys_, args = _user_event_call(user_id, payload)
    return _script(settings.REDIS_URL, _USER_PUBLISH)(keys=keys_, args=args)


class _BackgroundPublisher:
    """Publishes events from a thread of this process, many per Redis round trip.

    A request that only announces something (a bet's confirmation, a market trade) hands the
    event over and returns; the thread sends whatever has queued up in one pipeline (EVALSHA of
    the same scripts, so each event gets Redis time and is published exactly as
    ``user_event_publish`` or ``channel_event_publish`` does), in the order events were handed
    over. Best-effort like every live event: what is queued when the process exits is flushed at
    exit; a Redis error is logged.
    """

    BATCH = 500

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def submit(self, source: str | None, keys_: list[str] | None, args) -> None:
        """``source``: the script to run (_USER_PUBLISH or _PUBLISH), None for a list append."""
        if self.thread is None:  # first use in this process (a forked child starts with none)
            with self.lock:
                if self.thread is None:
                    self.thread = threading.Thread(target=self._run, name="live-publisher", daemon=True)
                    self.thread.start()
        self.queue.put((source, keys_, args))

    def forked(self) -> None:
        """In a forked child: the parent's thread did not come along; start afresh on first use."""
        self.queue = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.thread = None

    def _drain(self, block: bool) -> list:
        batch = []
        try:
            if block:
                batch.append(self.queue.get())
            while len(batch) < self.BATCH:
                batch.append(self.queue.get_nowait())
        except queue.Empty:
            pass
        return batch

    def _send(self, batch: list) -> None:
        try:
            pipe = get_redis().pipeline(transaction=False)
            for source, keys_, args in batch:
                if source is None:  # a list append (background_list_append): args are (key, value, cap)
                    key, value, cap = args
                    pipe.rpush(key, value)
                    pipe.ltrim(key, -cap, -1)
                else:  # a personal event (_USER_PUBLISH) or a channel event (_PUBLISH)
                    _script(settings.REDIS_URL, source)(keys=keys_, args=args, client=pipe)
            pipe.execute()
        except Exception:  # noqa: BLE001 - after commit: logged, never raised
            log.exception("%d live events not published", len(batch))

    def _run(self) -> None:
        while True:
            self._send(self._drain(block=True))

    def flush(self) -> None:
        if self.thread is not None:
            while batch := self._drain(block=False):
                self._send(batch)


_background = _BackgroundPublisher()
atexit.register(_background.flush)
os.register_at_fork(after_in_child=_background.forked)


def user_event_publish_later(*, user_id: int, payload: dict) -> None:
    """Queue one personal event for the background publisher (the same message as
    ``user_event_publish``, sent a moment later, without a round trip in the caller)."""
    _background.submit(_USER_PUBLISH, *_user_event_call(user_id, payload))


def background_list_append(*, key: str, value: str, cap: int) -> None:
    """Queue an RPUSH of ``value`` to the list ``key`` (kept to its last ``cap`` items) for the
    background publisher: the caller pays no round trip (fair play's bet observations)."""
    _background.submit(None, None, (key, value, int(cap)))


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


def channel_event_publish_later(*, channel: str, event_type: str, subject: dict, payload: dict) -> None:
    """Queue one channel event for the background publisher (the same message as
    ``channel_event_publish``, sent a moment later, without a round trip in the caller)."""
    _check_type(event_type)
    head, tail = _room_message(event_type, subject, payload)
    _background.submit(_PUBLISH, [channel], [head, tail])


def channel_event_on_commit(*, channel: str, event_type: str, subject: dict, payload: dict) -> None:
    """``channel_event_publish`` once the current transaction commits (at once outside one); a
    Redis error then is logged, never raised. An invalid type is raised now, in the caller."""
    _check_type(event_type)
    transaction.on_commit(lambda: _safely(channel_event_publish, channel=channel, event_type=event_type,
                                          subject=subject, payload=payload))


def user_event_on_commit(user_id: int, payload: dict, *, background: bool = False) -> None:
    """Push a personal event (``payload["type"]``: bet_confirmed, payout, rank, badge, alert, ...)
    to the user's /ws/me/ sockets once the current transaction commits. ``background``: hand it
    to this process's publisher thread instead of publishing in the caller (the hot bet path)."""
    if not isinstance(payload, dict):
        raise ValueError("A user event payload is a dict with a 'type'.")
    _check_type(payload.get("type"))
    publish = user_event_publish_later if background else user_event_publish
    transaction.on_commit(lambda: _safely(publish, user_id=user_id, payload=payload))
