"""Rate limits on bet placement, per player (scope ``bets_user``) and per address (``bets_ip``).

DRF's stock throttles read, change and write a pickled history through the cache in three
round trips, so concurrent requests can all slip under the limit. This keeps an exact sliding
window per limit in a Redis sorted set, both checked and updated by one Lua script (one round
trip for both limits, atomic, on Redis's clock). The rates come from
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (settings BET_RATE_LIMIT_USER / BET_RATE_LIMIT_IP) and
are read on every request, so a changed setting applies at once. They are set on the bet view itself, so they apply even where the default
throttles are off (the test settings).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from apps.bets.odds_cache import ODDS_CACHE_KEY
from apps.core.net import request_client_address
from apps.core.redis import get_redis

# The bet path's one Redis round trip before PostgreSQL: both rate limits, the clock and the
# race's odds card. KEYS[1]: the odds card; then one sorted set per window (the player's, the
# address's). ARGV: a unique member, then (limit, window seconds) per window. The request goes
# ahead only if every window has room, and is then counted in all of them; a refused request
# counts in none. Returns {wait, seconds, microseconds, card}: wait is '0' when the bet may go
# ahead, else the seconds until the fullest window frees a slot; card is false on a miss.
PREFLIGHT_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local wait = 0
for i = 2, #KEYS do
  local limit, window = tonumber(ARGV[2 * i - 2]), tonumber(ARGV[2 * i - 1])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  if redis.call('ZCARD', KEYS[i]) >= limit then
    local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + window - now, 0.001)
  end
end
if wait == 0 then
  for i = 2, #KEYS do
    redis.call('ZADD', KEYS[i], now, ARGV[1])
    redis.call('PEXPIRE', KEYS[i], math.ceil(tonumber(ARGV[2 * i - 1]) * 1000))
  end
end
return {tostring(wait), t[1], t[2], redis.call('GET', KEYS[1])}
"""
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _rate(scope: str) -> tuple[int, int] | None:
    """(requests, seconds) of a DRF rate such as "60/min"; None when the scope has no limit."""
    rate = api_settings.DEFAULT_THROTTLE_RATES.get(scope)
    if rate is None:
        return None
    count, period = rate.split("/")
    return int(count), PERIODS[period[0]]


@dataclass(frozen=True, slots=True)
class Preflight:
    wait: float  # 0 when the rate limits let the bet through, else seconds to wait
    now: datetime  # Redis server time
    card: str | None  # the race's cached odds card (apps.bets.odds_cache), None on a miss


_script = None


def bet_preflight(*, race_id: int, user_id: int | None, ip: str | None) -> Preflight:
    """Check (and count) the player's and the address's bet rate limits, and read Redis's clock and
    the race's odds card: one script call. ``user_id``/``ip`` None: that limit does not apply."""
    global _script
    if _script is None:
        _script = get_redis().register_script(PREFLIGHT_LUA)
    keys, args = [ODDS_CACHE_KEY.format(race_id)], [os.urandom(8).hex()]
    for scope, ident in (("bets_user", user_id), ("bets_ip", ip)):
        rate = _rate(scope)
        if rate is not None and ident is not None:
            keys.append(f"throttle:{scope}:{ident}")
            args.extend(rate)
    wait, seconds, micros, card = _script(keys=keys, args=args)
    now = datetime.fromtimestamp(int(seconds), tz=timezone.utc) + timedelta(microseconds=int(micros))
    return Preflight(float(wait), now, card.decode() if isinstance(card, bytes) else card)


class BetThrottle(BaseThrottle):
    """Both bet limits — per player (``bets_user``) and per address (``bets_ip``) — checked in the
    bet path's one preflight call to Redis, which the view hands on to bet_place."""

    def allow_request(self, request, view):
        user = request.user
        user_id = user.pk if user and user.is_authenticated else None  # anonymous: refused by permissions
        preflight = bet_preflight(race_id=view.kwargs["race_id"], user_id=user_id, ip=request_client_address(request))
        request.bet_preflight = preflight
        self._wait = preflight.wait
        return preflight.wait <= 0

    def wait(self):
        return max(getattr(self, "_wait", 0.0), 0.0) or None
