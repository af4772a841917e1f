"""The returns leaderboard: players ranked by % return over the week, the month or all time.

Return over a period = P&L made in the period / capital at work in it, where

- P&L = realized − fees + unrealized now, minus the same figure at the last session-close
  snapshot before the period (zero for all time);
- capital = cost basis of the positions held at that snapshot + value of every fill that opened
  or added to a position during the period (for all time: everything ever invested).

Only eligible players (apps.accounts.eligibility: no house accounts, no shadow-restricted
players) with at least TRADE_LEADERBOARD_MIN_TRADES fills in the period are ranked. Boards are
computed from PostgreSQL and the live quotes, and cached for 15 seconds.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection

from apps.accounts.eligibility import eligible_sql
from apps.core.redis import redis_now
from apps.trading.selectors import portfolios_value

PERIODS = ("weekly", "monthly", "all_time")
CACHE_SECONDS = 15
MAX_ROWS = 100


def period_start(period: str, now: datetime) -> datetime | None:
    """Monday 00:00 or the 1st 00:00, New York time (as the points leaderboards); None: all time."""
    local = now.astimezone(ZoneInfo(settings.MARKET_TIME_ZONE)).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "weekly":
        return local - timedelta(days=local.weekday())
    if period == "monthly":
        return local.replace(day=1)
    return None


_ACTIVE_SQL = """
SELECT f.user_id, COUNT(*), COALESCE(SUM(f.opened_quantity * f.price), 0)
FROM trading_fill f JOIN accounts_user u ON u.id = f.user_id
WHERE {since} AND {eligible}
GROUP BY f.user_id
HAVING COUNT(*) >= %(min)s
"""

_BASELINE_SQL = """
SELECT DISTINCT ON (user_id) user_id, realized_pnl + unrealized_pnl - fees_paid, open_cost
FROM trading_portfoliosnapshot
WHERE session < %(day)s AND user_id = ANY(%(users)s)
ORDER BY user_id, session DESC
"""


def returns_board(*, period: str, now: datetime | None = None, use_cache: bool = True) -> dict:
    if period not in PERIODS:
        raise ValueError(period)
    now = now or redis_now()
    start = period_start(period, now)
    cache_key = f"trading:returns:{period}:{start.date() if start else ''}"
    if use_cache and (cached := cache.get(cache_key)) is not None:
        return cached
    min_trades = settings.TRADE_LEADERBOARD_MIN_TRADES
    with connection.cursor() as cursor:
        cursor.execute(_ACTIVE_SQL.format(since="f.created_at >= %(since)s" if start else "TRUE",
                                          eligible=eligible_sql("u")),
                       {"since": start, "min": min_trades})
        active = {user_id: (int(count), Decimal(opened)) for user_id, count, opened in cursor.fetchall()}
        baseline = {}
        if start and active:
            cursor.execute(_BASELINE_SQL, {"day": start.date(), "users": list(active)})
            baseline = {user_id: (Decimal(pnl), Decimal(cost)) for user_id, pnl, cost in cursor.fetchall()}
    values = portfolios_value(list(active)) if active else {}
    rows = []
    for user_id, (trades, opened) in active.items():
        value = values.get(user_id)
        if value is None:
            continue
        pnl0, cost0 = baseline.get(user_id, (Decimal(0), Decimal(0)))
        capital = value.invested if start is None else cost0 + opened
        if capital <= 0:
            continue
        pnl = value.total_return - pnl0
        rows.append((float(pnl / capital * 100), user_id, pnl, trades))
    rows.sort(key=lambda r: (-r[0], r[1]))
    rows = rows[:MAX_ROWS]
    names = dict(get_user_model().objects.filter(pk__in=[r[1] for r in rows]).values_list("pk", "username"))
    results, rank = [], 0
    for i, (pct, user_id, pnl, trades) in enumerate(rows):
        if i == 0 or round(pct, 6) != round(rows[i - 1][0], 6):
            rank = i + 1
        results.append({"rank": rank, "user_id": user_id, "username": names.get(user_id, ""),
                        "return_pct": round(pct, 4), "pnl": format(pnl.quantize(Decimal("0.01")), "f"),
                        "trades": trades})
    board = {"period": period, "since": start, "min_trades": min_trades, "results": results}
    cache.set(cache_key, board, CACHE_SECONDS)
    return board
