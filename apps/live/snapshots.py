"""The snapshot a viewer gets on joining a race room: state, times, lanes, odds, the last frame.

The race's database state is cached per process for a second (a reconnect storm after an ASGI
process dies must not turn into thousands of identical queries); the cache entry is dropped
as soon as a room event for the race passes through the hub. The last frame, the kept room
events and Redis TIME are read in one pipelined round trip.
"""
from __future__ import annotations

import logging
import time

import orjson
from channels.db import database_sync_to_async

from apps.bets.selectors import race_odds
from apps.core import live_keys as keys
from apps.core.events import dumps
from apps.races.models import Race, RaceEntry

log = logging.getLogger(__name__)

STATE_CACHE_SECONDS = 1.0


def _odds(race_id: int) -> dict | None:
    """Winner odds from the bets app's selector (apps.bets.selectors.race_odds)."""
    try:
        odds = race_odds(race_id)  # accepts a Race or its id
    except Exception:  # noqa: BLE001 - the room still opens without odds
        log.warning("snapshot: odds of race %s unavailable", race_id, exc_info=True)
        return None
    return dict(odds) if odds is not None else None


def race_room_state(race_id: int) -> dict | None:
    """The race as the room shows it (2 queries, plus the odds selector's)."""
    race = (Race.objects.filter(pk=race_id)
            .values("id", "title", "theme", "duration", "state", "betting_opens_at", "starts_at", "ends_at")
            .first())
    if race is None:
        return None
    entries = [
        {"lane": e["lane"], "symbol": e["stock__symbol"], "name": e["stock__name"], "open_price": e["open_price"],
         "close_price": e["close_price"], "final_position": e["final_position"]}
        for e in RaceEntry.objects.filter(race_id=race_id).order_by("lane")
        .values("lane", "stock__symbol", "stock__name", "open_price", "close_price", "final_position")
    ]
    return {"race": race["id"], "title": race["title"], "theme": race["theme"], "duration": race["duration"],
            "state": race["state"], "betting_opens_at": race["betting_opens_at"].timestamp(),
            "starts_at": race["starts_at"].timestamp(), "ends_at": race["ends_at"].timestamp(),
            "entries": entries, "odds": _odds(race_id)}


async def cached_room_state(hub, race_id: int) -> dict | None:
    cached = hub.state_cache.get(race_id)
    if cached is not None and time.monotonic() - cached[0] < STATE_CACHE_SECONDS:
        return cached[1]
    state = await database_sync_to_async(race_room_state)(race_id)
    if state is not None:
        hub.state_cache[race_id] = (time.monotonic(), state)
    return state


async def race_snapshot(hub, state: dict) -> tuple[str, int]:
    """The snapshot JSON and the sequence number of the frame it contains (0 if none)."""
    race_id = state["race"]
    pipe = hub.redis.pipeline(transaction=False)
    pipe.time()
    pipe.get(keys.RACE_LAST_FRAME.format(race_id))
    pipe.hgetall(keys.RACE_EVENTS.format(race_id))
    (seconds, micros), last_frame, events = await pipe.execute()
    now = seconds + micros / 1e6
    frame = orjson.loads(last_frame) if last_frame else None
    snapshot = {
        "type": "snapshot", "now": round(now, 3), **state,
        "starts_in": max(0.0, round(state["starts_at"] - now, 3)),
        "time_left": max(0.0, round(state["ends_at"] - now, 3)),
        "frame": frame,
        "events": {k.decode(): orjson.loads(v) for k, v in events.items()},
    }
    return dumps(snapshot), (frame["seq"] if frame else 0)
