"""Session times the trading floor needs, from the exchange calendar (apps.market.sessions):
when a day order expires and which session has just closed."""
from __future__ import annotations

import bisect
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from django.conf import settings


def _table():
    from apps.market.sessions import session_table

    return session_table()


def _fallback_close(ts: float) -> float:
    """16:00 New York on the next weekday at or after ``ts`` (beyond the calendar's range)."""
    tz = ZoneInfo(settings.MARKET_TIME_ZONE)
    local = datetime.fromtimestamp(ts, tz)
    close = local.replace(hour=16, minute=0, second=0, microsecond=0)
    while close.timestamp() <= ts or close.weekday() >= 5:
        close = (close + timedelta(days=1)).replace(hour=16)
    return close.timestamp()


def day_order_expiry(now_ts: float) -> datetime:
    """A day order placed at ``now_ts`` expires at the close of the session in progress, or of
    the next session when the market is closed."""
    table = _table()
    i = bisect.bisect_right(table.closes, now_ts)
    close = table.closes[i] if i < len(table.closes) else _fallback_close(now_ts)
    return datetime.fromtimestamp(close, timezone.utc)


def last_closed_session(now_ts: float) -> tuple[date, float] | None:
    """The New York date and close instant of the latest session closed at ``now_ts``."""
    table = _table()
    i = bisect.bisect_right(table.closes, now_ts) - 1
    if i < 0:
        return None
    close = table.closes[i]
    return datetime.fromtimestamp(table.opens[i], ZoneInfo(settings.MARKET_TIME_ZONE)).date(), close
