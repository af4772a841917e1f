"""Rate limits on bet placement, per player (scope ``bets_user``) and per address (``bets_ip``).

DRF's stock throttles read, change and write a pickled history through the cache in three
round trips, so concurrent requests can all slip under the limit. This keeps an exact sliding
window per limit in a Redis sorted set, both checked and updated by apps.core.ratelimit's script
(one round trip for both limits and the race's odds card, atomic, on Redis's clock). The rates come from
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (settings BET_RATE_LIMIT_USER / BET_RATE_LIMIT_IP) and
are read on every request, so a changed setting applies at once. They are set on the bet view itself, so they apply even where the default
throttles are off (the test settings).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from apps.bets.odds_cache import ODDS_CACHE_KEY
from apps.core import ratelimit
from apps.core.net import request_client_address


@dataclass(frozen=True, slots=True)
class Preflight:
    wait: float  # 0 when the rate limits let the bet through, else seconds to wait
    now: datetime  # Redis server time
    card: str | None  # the race's cached odds card (apps.bets.odds_cache), None on a miss


def bet_preflight(*, race_id: int, user_id: int | None, ip: str | None) -> Preflight:
    """Check (and count) the player's and the address's bet rate limits, and read Redis's clock and
    the race's odds card: the bet path's one Redis round trip before PostgreSQL (apps.core.ratelimit's
    script). ``user_id``/``ip`` None: that limit does not apply."""
    rates = api_settings.DEFAULT_THROTTLE_RATES
    windows = [(f"throttle:{scope}:{ident}", ratelimit.parse_rate(rates.get(scope)))
               for scope, ident in (("bets_user", user_id), ("bets_ip", ip)) if ident is not None]
    result = ratelimit.check(windows, reads=(ODDS_CACHE_KEY.format(race_id),))
    card = result.values[0]
    return Preflight(result.wait, result.now, card.decode() if isinstance(card, bytes) else card)


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
