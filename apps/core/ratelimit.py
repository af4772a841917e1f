"""Exact sliding-window rate limits in Redis: several windows checked and counted in one script.

A hit goes ahead only if every window has room, and is then counted in all of them; a refused
hit counts in none (so a blocked network does not also use up its addresses' allowance). One
round trip, atomic, on Redis's clock. The bet path has its own script with the same rule plus the
race's odds card (apps.bets.throttles).
"""
from __future__ import annotations

import os

from apps.core.redis import get_redis

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# KEYS: one sorted set per window. ARGV: a unique member, then (limit, window seconds) per key.
# Returns the seconds to wait as text ('0': go ahead).
WINDOWS_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local wait = 0
for i = 1, #KEYS do
  local limit, window = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  if redis.call('ZCARD', KEYS[i]) >= limit then
    local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + window - now, 0.001)
  end
end
if wait == 0 then
  for i = 1, #KEYS do
    redis.call('ZADD', KEYS[i], now, ARGV[1])
    redis.call('PEXPIRE', KEYS[i], math.ceil(tonumber(ARGV[2 * i + 1]) * 1000))
  end
end
return tostring(wait)
"""
_script = None


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """(requests, seconds) of a DRF rate such as "20/hour"; None for no limit."""
    if not rate:
        return None
    count, period = rate.split("/")
    return int(count), PERIODS[period[0]]


def hit(windows: list[tuple[str, tuple[int, int] | None]]) -> float:
    """Count one hit in each (key, (limit, seconds)) window if all have room; returns 0.0 when it
    went ahead, else the seconds until the fullest window frees a slot. Windows whose rate is
    None are skipped."""
    global _script
    keys, args = [], [os.urandom(8).hex()]
    for key, rate in windows:
        if rate is not None:
            keys.append(key)
            args.extend(rate)
    if not keys:
        return 0.0
    if _script is None:
        _script = get_redis().register_script(WINDOWS_LUA)
    return float(_script(keys=keys, args=args))
