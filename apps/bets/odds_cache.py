"""The Redis copy of what the bet path needs to know about a race before it touches PostgreSQL.

``bets:odds:{race_id}`` holds ``{"duration": "5m", "odds": {"AAPL": "2.85", ...}}``: the race's
duration (for bracket odds), its symbols and their published winner odds. bets.RaceOdds in
PostgreSQL is the truth; this copy is re-filled from it on a miss (services.race_odds_publish).
"""
from __future__ import annotations

import functools
import json
from decimal import Decimal

import redis
from django.conf import settings

from apps.core.redis import get_redis

ODDS_CACHE_KEY = "bets:odds:{}"
ODDS_CACHE_TTL_SECONDS = 3 * 24 * 3600  # longer than any race's lifetime; PostgreSQL keeps them for good


@functools.cache
def _client(url: str) -> redis.Redis:
    # One client object per process: building a redis.Redis costs about half a millisecond,
    # which the bet path would otherwise pay on every request.
    return get_redis()


def redis_client() -> redis.Redis:
    return _client(settings.REDIS_URL)


def card_store(race_id: int, duration: str, odds: dict[str, Decimal]) -> None:
    card = {"duration": duration, "odds": {s: str(o) for s, o in odds.items()}}
    redis_client().set(ODDS_CACHE_KEY.format(race_id), json.dumps(card), ex=ODDS_CACHE_TTL_SECONDS)


def card_parse(raw: str | None) -> tuple[str, dict[str, Decimal]] | None:
    """(duration, {symbol: odds}) from the cached JSON, None on a miss."""
    if not raw:
        return None
    try:
        card = json.loads(raw)
        return card["duration"], {s: Decimal(o) for s, o in card["odds"].items()}
    except (ValueError, KeyError, TypeError, ArithmeticError):
        return None  # not a card we wrote (an older format): read PostgreSQL and write it again
