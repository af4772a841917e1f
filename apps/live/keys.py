"""Every Redis key and pub/sub channel of the live rooms, in one place.

Documented in docs/ARCHITECTURE-live.md; other apps (health, admin) read the ``WS_*`` keys.
"""
from __future__ import annotations

# Pub/sub: one channel per race (frames and room events, in publish order) and per user.
RACE_CHANNEL = "live:race:{}"
USER_CHANNEL = "live:user:{}"
RACE_CHANNEL_PREFIX = "live:race:"
USER_CHANNEL_PREFIX = "live:user:"

# The last frame of each race (the snapshot's positions) and its frame sequence counter.
RACE_LAST_FRAME = "live:race:{}:last"
RACE_SEQ = "live:race:{}:seq"
# The last event of each type per race (hash: event type -> JSON), for snapshots of settled races.
RACE_EVENTS = "live:race:{}:events"

# The race engine: the lease (value = the holder's token), the last published tick (a Redis
# second) and the cycle statistics of the active engine (hash).
ENGINE_LEASE = "live:engine:lease"
ENGINE_TICK = "live:engine:tick"
ENGINE_STATS = "live:engine:stats"

# Health: one hash per ASGI process with its WebSocket counts (expires when the process dies),
# indexed by a sorted set scored by the last report time.
WS_PROCESS = "live:ws:{}"
WS_PROCESSES = "live:ws:procs"


def race_channel(race_id: int) -> str:
    return RACE_CHANNEL.format(int(race_id))


def user_channel(user_id: int) -> str:
    return USER_CHANNEL.format(int(user_id))
