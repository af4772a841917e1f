"""The state of every part of the stack, for /healthz and the admin."""
from __future__ import annotations

import time

from django.conf import settings
from django.db import connection

from apps.core.redis import get_redis, redis_now_ts

BEAT_KEY = "health:beat_last_run"


def record_beat() -> None:
    client = get_redis()
    client.set(BEAT_KEY, redis_now_ts(client))


def _check(fn) -> dict:
    started = time.perf_counter()
    try:
        result = fn()
    except Exception as exc:  # a health check reports failures, it never raises them
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True}


def _redis() -> dict:
    return {"ok": bool(get_redis().ping())}


def _broker() -> dict:
    from celery_app import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": conn.connected}


def _beat() -> dict:
    client = get_redis()
    last = client.get(BEAT_KEY)
    if last is None:
        return {"ok": False, "error": "beat has not run the heartbeat task yet", "last_run": None}
    age = redis_now_ts(client) - float(last)
    ok = age <= settings.BEAT_MAX_SILENCE_SECONDS
    result = {"ok": ok, "last_run_age_s": round(age, 1)}
    if not ok:
        result["error"] = f"no heartbeat for {age:.0f} s (limit {settings.BEAT_MAX_SILENCE_SECONDS} s)"
    return result


# Each check returns {"ok": bool, ...}. Apps above core add theirs in AppConfig.ready (apps.market:
# "market_data", the feed's lag), so core knows no other app.
CHECKS = {
    "database": _database,
    "redis": _redis,
    "celery_broker": _broker,
    "beat": _beat,
}


def public_health(report: dict) -> dict:
    """What anyone may see: each component named with its state, no details (exception texts,
    lags and providers are for staff)."""
    return {"status": report["status"], "failing": report["failing"],
            "checks": {name: {"ok": result["ok"], "state": "ok" if result["ok"] else "failing"}
                       for name, result in report["checks"].items()}}


def system_health() -> dict:
    checks = {name: _check(fn) for name, fn in CHECKS.items()}
    failing = [name for name, result in checks.items() if not result["ok"]]
    return {"status": "ok" if not failing else "failing", "failing": failing, "checks": checks}
