"""One Redis connection pool per process, and the shared clock.

Every process takes "now" from Redis ``TIME`` so that the engine, the workers and the web
servers agree on when a race starts and ends, whatever their own clocks say.
"""
from __future__ import annotations

import functools
from datetime import datetime, timezone

import redis
from django.conf import settings


@functools.cache
def _pool(url: str) -> redis.ConnectionPool:
    return redis.ConnectionPool.from_url(url, decode_responses=True, health_check_interval=30)


@functools.cache
def _client(url: str) -> redis.Redis:
    # One client per process and URL: clients are thread-safe and the pool survives a fork
    # (redis-py resets it in the child), so there is no reason to build one per call.
    return redis.Redis(connection_pool=_pool(url))


def get_redis() -> redis.Redis:
    return _client(settings.REDIS_URL)


def redis_now_ts(client: redis.Redis | None = None) -> float:
    seconds, micros = (client or get_redis()).time()
    return seconds + micros / 1_000_000


def redis_now(client: redis.Redis | None = None) -> datetime:
    return datetime.fromtimestamp(redis_now_ts(client), tz=timezone.utc)
