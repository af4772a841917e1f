"""The Redis copy of a race's pricing card, what the bet path needs before it touches PostgreSQL.

``bets:odds:{race_id}`` holds the card of apps.bets.pricing as compact JSON: the race's symbols in
lane order, its betting times, the model's parameters and the chances every quote reads. The
bets.RacePricing row in PostgreSQL is the truth; this copy is re-filled from it on a miss
(services.race_odds_publish). A race whose betting has not opened has no card at all.
"""
from __future__ import annotations

import functools
import json

import redis
from django.conf import settings

from apps.bets.pricing import CARD_VERSION
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


def card_dumps(card: dict) -> str:
    return json.dumps(card, separators=(",", ":"))


def card_store(race_id: int, card: dict) -> None:
    redis_client().set(ODDS_CACHE_KEY.format(race_id), card_dumps(card), ex=ODDS_CACHE_TTL_SECONDS)


@functools.lru_cache(maxsize=512)
def _parse(raw: str) -> dict | None:
    try:
        card = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(card, dict) or card.get("v") != CARD_VERSION:
        return None  # not a card we write (an older format): read PostgreSQL and write it again
    return card


def card_parse(raw: str | bytes | None) -> dict | None:
    """The card from its cached JSON (parsed once per process and shared: never change it), None on a miss."""
    if not raw:
        return None
    return _parse(raw.decode() if isinstance(raw, bytes) else raw)
