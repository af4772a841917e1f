"""Every Redis key and pub/sub channel of the live rooms, in one place.

Documented in docs/ARCHITECTURE-live.md; other apps (health, admin) read the ``WS_*`` keys.
"""
from __future__ import annotations

from django.conf import settings

# Pub/sub: one channel per race (frames and room events, in publish order) and per user.
# Redis pub/sub ignores the database number, so channel names start with
# settings.REDIS_PUBSUB_PREFIX (empty in production, "t6:" for a test run on db 6): a demo and
# test runs on one server never hear each other.
RACE_CHANNEL = "{prefix}live:race:{id}"
USER_CHANNEL = "{prefix}live:user:{id}"
# A prediction market's trades and state changes (apps/markets/events.py), same prefix rule.
MARKET_CHANNEL = "{prefix}live:market:{id}"

# The last frame of each race (the snapshot's positions) and its frame sequence counter.
RACE_LAST_FRAME = "live:race:{}:last"
RACE_SEQ = "live:race:{}:seq"
# The last event of each type per race (hash: event type -> JSON), for snapshots of settled races.
RACE_EVENTS = "live:race:{}:events"

# Each player's personal events (/ws/me/): the sequence counter that numbers them ("seq") and the
# last few, kept a few minutes so that the HTTP fallback resumes after a Last-Event-ID.
USER_SEQ = "live:user:{}:seq"
USER_RECENT = "live:user:{}:recent"

# The race engine: the lease (value = the holder's token), the last published tick (a Redis
# second) and the cycle statistics of the active engine (hash).
ENGINE_LEASE = "live:engine:lease"
ENGINE_TICK = "live:engine:tick"
ENGINE_STATS = "live:engine:stats"

# Health: one hash per ASGI process with its WebSocket counts (expires when the process dies),
# indexed by a sorted set scored by the last report time.
WS_PROCESS = "live:ws:{}"
WS_PROCESSES = "live:ws:procs"


def race_channel_prefix() -> str:
    return f"{settings.REDIS_PUBSUB_PREFIX}live:race:"


def race_channel(race_id: int) -> str:
    return RACE_CHANNEL.format(prefix=settings.REDIS_PUBSUB_PREFIX, id=int(race_id))


def user_channel(user_id: int) -> str:
    return USER_CHANNEL.format(prefix=settings.REDIS_PUBSUB_PREFIX, id=int(user_id))


def race_id_of(channel: str) -> int | None:
    """The race id of a race channel name, None for any other channel."""
    prefix = race_channel_prefix()
    return int(channel[len(prefix):]) if channel.startswith(prefix) else None
