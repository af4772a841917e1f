"""Exact sliding-window rate limits in Redis: several windows checked and counted in one script.

A hit goes ahead only if every window has room, and is then counted in all of them; a refused
hit counts in none (so a blocked network does not also use up its addresses' allowance). One
round trip, atomic, on Redis's clock. The script also returns Redis's clock and, if asked, the
values of a few keys read in the same round trip: the bet path's preflight reads the race's odds
card with its two limits (apps.bets.throttles), the market trades throttle takes the trade's clock
(apps.markets.throttles), the signup throttle only counts (apps.accounts.throttles). This is the
one copy of the rule.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from apps.core.redis import get_redis

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# KEYS: first ARGV[2] keys to read (GET), then one sorted set per window. ARGV: a unique member,
# the number of keys to read, then (limit, window seconds) per window. Returns {wait, seconds,
# microseconds, values...}: wait is '0' when the hit went ahead, else the seconds until the
# fullest window frees a slot; then Redis TIME; then each read key's value (nil when missing).
WINDOWS_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local reads = tonumber(ARGV[2])
local wait = 0
for i = reads + 1, #KEYS do
  local j = 2 * (i - reads) + 1
  local limit, window = tonumber(ARGV[j]), tonumber(ARGV[j + 1])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  if redis.call('ZCARD', KEYS[i]) >= limit then
    local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + window - now, 0.001)
  end
end
if wait == 0 then
  for i = reads + 1, #KEYS do
    redis.call('ZADD', KEYS[i], now, ARGV[1])
    redis.call('PEXPIRE', KEYS[i], math.ceil(tonumber(ARGV[2 * (i - reads) + 2]) * 1000))
  end
end
local out = {tostring(wait), t[1], t[2]}
for i = 1, reads do
  out[#out + 1] = redis.call('GET', KEYS[i])
end
return out
"""
_script = None

Window = tuple[str, "tuple[int, int] | None"]  # (key, (limit, seconds)); None: no limit


@dataclass(frozen=True, slots=True)
class Check:
    wait: float  # 0.0 when the hit went ahead, else seconds until the fullest window frees a slot
    now: datetime  # Redis's clock
    values: tuple  # the read keys' values (bytes, or None when missing), in the order asked


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """(requests, seconds) of a DRF rate such as "20/hour"; None for no limit."""
    if not rate:
        return None
    count, period = rate.split("/")
    return int(count), PERIODS[period[0]]


def check(windows: list[Window], *, reads: tuple[str, ...] = ()) -> Check:
    """Count one hit in each (key, (limit, seconds)) window if all have room, read ``reads`` and
    Redis's clock: one script call. Windows whose rate is None are skipped."""
    global _script
    keys, args = list(reads), [os.urandom(8).hex(), len(reads)]
    for key, rate in windows:
        if rate is not None:
            keys.append(key)
            args.extend(rate)
    if _script is None:
        _script = get_redis().register_script(WINDOWS_LUA)
    wait, seconds, micros, *values = _script(keys=keys, args=args)
    now = datetime.fromtimestamp(int(seconds), tz=timezone.utc) + timedelta(microseconds=int(micros))
    return Check(float(wait), now, tuple(values))


def hit(windows: list[Window]) -> float:
    """Count one hit in each window if all have room; returns 0.0 when it went ahead, else the
    seconds until the fullest window frees a slot. No limits at all: no round trip."""
    if not any(rate is not None for _, rate in windows):
        return 0.0
    return check(windows).wait
