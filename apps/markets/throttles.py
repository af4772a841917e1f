"""The market trades view's throttle: the API's default rate limits, counted in Redis, and the clock.

``MarketTradesView`` (both its routes: DRF's and the lean one, apps/markets/fastpath.py, which
runs the view's throttle classes) is limited exactly as the API's default throttles limit any
view — REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] with their rates, scopes and identities (DRF's
``UserRateThrottle``: 1200/min per player, by address when anonymous; ``AnonRateThrottle``:
120/min per address for the anonymous), none where the defaults are off (the test settings) —
and refused with the same 429 (DRF's Throttled, through the view's ``throttled``). Only where the
history lives differs: DRF's throttles read, change and write a pickled list through the Django
cache (two round trips, about half a millisecond of a trade's CPU, and concurrent requests can
all slip under the limit); here every window is an exact sliding window in a Redis sorted set,
checked and counted in apps.core.ratelimit's one script (a request goes ahead only if every
window has room, and is then counted in all of them). The windows are this view's own: its
requests do not count against the other views' histories, nor theirs against it.

The same script reads Redis's clock, which a trade needs anyway (``market_trade(now=...)``): a
trade's throttle and clock are one round trip. The clock is left on the request as
``market_now`` (None on the way there: a view whose throttle classes were replaced).
"""
from __future__ import annotations

from datetime import datetime

from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from apps.core import ratelimit

KEY = "throttle:markets:{}"  # + the default throttle's own cache key (its scope and identity)


def windows_and_clock(windows: list[tuple[str, int, int]]) -> tuple[float, datetime]:
    """Count one request in each (key, limit, seconds) window if all have room; (seconds to wait,
    0.0 when it went ahead; Redis's time): one call of apps.core.ratelimit's script."""
    result = ratelimit.check([(key, (limit, seconds)) for key, limit, seconds in windows])
    return result.wait, result.now


class MarketTradesThrottle(BaseThrottle):
    """The API's default throttles for this view, in one Redis script with the clock (see above)."""

    def allow_request(self, request, view):
        windows, others = [], []
        for throttle_class in api_settings.DEFAULT_THROTTLE_CLASSES:
            throttle = throttle_class()
            if not isinstance(throttle, SimpleRateThrottle):
                others.append(throttle)  # not a rate in a window: run as DRF runs it
                continue
            if throttle.rate is None or (key := throttle.get_cache_key(request, view)) is None:
                continue  # no limit, or not for this request (AnonRateThrottle for a player)
            limit, seconds = throttle.parse_rate(throttle.rate)
            windows.append((KEY.format(key), limit, seconds))
        waits = [t.wait() for t in others if not t.allow_request(request, view)]
        self._wait = max((w for w in waits if w is not None), default=0.0) if waits else 0.0
        if waits:
            return False
        if windows or request.method == "POST":  # a trade wants the clock even without a limit
            wait, request.market_now = windows_and_clock(windows)
            if wait > 0:
                self._wait = wait
                return False
        return True

    def wait(self):
        return max(getattr(self, "_wait", 0.0), 0.0) or None
