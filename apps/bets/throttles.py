"""Rate limits on bet placement, per player (scope ``bets_user``) and per address (``bets_ip``).

DRF's stock throttles read, change and write a pickled history through the cache in three
round trips, so concurrent requests can all slip under the limit. These keep an exact sliding
window in a Redis sorted set, checked and updated by one Lua script (one round trip, atomic,
on Redis's clock). The rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (settings
BET_RATE_LIMIT_USER / BET_RATE_LIMIT_IP) and are read on every request, so a changed setting
applies at once. They are set on the bet view itself, so they apply even where the default
throttles are off (the test settings).
"""
from __future__ import annotations

import os

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from apps.core.redis import get_redis

# KEYS[1]: the window's sorted set. ARGV: limit, window seconds, a unique member.
# Returns 0 when the request may go ahead, else the seconds until a slot frees up.
SLIDING_WINDOW_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
  return '0'
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - now)
"""


class RedisSlidingWindowThrottle(SimpleRateThrottle):
    key_prefix = "throttle:"
    _script = None

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    @classmethod
    def _sliding_window(cls):
        if cls._script is None:
            cls._script = get_redis().register_script(SLIDING_WINDOW_LUA)
        return cls._script

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        waited = float(self._sliding_window()(keys=[self.key_prefix + key],
                                              args=[self.num_requests, self.duration, os.urandom(8).hex()]))
        self._wait = waited
        return waited <= 0

    def wait(self):
        return max(getattr(self, "_wait", 0.0), 0.0) or None


class BetUserThrottle(RedisSlidingWindowThrottle):
    scope = "bets_user"

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return None  # anonymous requests are refused by the permission check anyway
        return f"{self.scope}:{request.user.pk}"


class BetIpThrottle(RedisSlidingWindowThrottle):
    scope = "bets_ip"

    def get_cache_key(self, request, view):
        return f"{self.scope}:{self.get_ident(request)}"
