"""Leaderboard periods in New York time: weeks start Monday 00:00, months on the 1st."""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings

WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


def _local(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo(settings.MARKET_TIME_ZONE))


def week_key(moment: datetime) -> str:
    """ISO week of the New York date: "2026-W47" (ISO weeks start on Monday)."""
    iso = _local(moment).isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def month_key(moment: datetime) -> str:
    local = _local(moment)
    return f"{local.year}-{local.month:02d}"


def current_period(board: str, now: datetime) -> str:
    if board == "weekly":
        return week_key(now)
    if board == "monthly":
        return month_key(now)
    return ""


def period_is_valid(board: str, period: str) -> bool:
    if board == "weekly":
        match = WEEK_RE.match(period)
        if not match:
            return False
        try:
            datetime.fromisocalendar(int(match[1]), int(match[2]), 1)
        except ValueError:
            return False
        return True
    if board == "monthly":
        match = MONTH_RE.match(period)
        return bool(match) and 1 <= int(match[2]) <= 12
    return period == ""


def redis_key(board: str, period: str = "") -> str:
    return f"lb:{board}:{period}" if period else f"lb:{board}"


def race_redis_key(race_id: int) -> str:
    return f"lb:race:{race_id}"
