"""The market-data feed's health check for /healthz (registered with apps.core.health.CHECKS
in MarketConfig.ready): fails when no quote arrived for MARKET_DATA_STALE_SECONDS."""
from __future__ import annotations

from django.conf import settings

from apps.core.redis import get_redis, redis_now_ts
from apps.market.quotes import feed_state


def market_data_lag() -> float | None:
    client = get_redis()
    last = feed_state(client).get("last_recv")
    if not last:
        return None
    return max(0.0, redis_now_ts(client) - float(last))


def market_data_check() -> dict:
    state = feed_state(get_redis())
    lag = market_data_lag()
    if lag is None:
        return {"ok": False, "error": "no market data received yet", "lag_s": None,
                "provider": state.get("provider")}
    ok = lag <= settings.MARKET_DATA_STALE_SECONDS
    result = {"ok": ok, "lag_s": round(lag, 2), "provider": state.get("provider"),
              "connected": state.get("connected") == "1"}
    if not ok:
        result["error"] = f"feed silent for {lag:.1f} s (stale after {settings.MARKET_DATA_STALE_SECONDS} s)"
    return result
