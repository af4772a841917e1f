"""Candle intervals and the bucket each instant falls in.

Intraday buckets (1m, 5m, 15m, 1h) are aligned on the UTC epoch, which for New York's whole-hour
offsets is the same as aligning on local clock minutes and hours; they take every trade, in or
out of the regular session. Daily, weekly and monthly buckets follow the NYSE calendar
(apps.market.sessions) and take regular-session minutes only.
"""
from __future__ import annotations

from apps.market.sessions import SessionTable

INTERVALS = ("1m", "5m", "15m", "1h", "1d", "1w", "1M")
INTRADAY_SECONDS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600}
SESSION_INTERVALS = ("1d", "1w", "1M")
# Nominal lengths, used to bound API ranges and warm-up windows (not to compute buckets).
NOMINAL_SECONDS = {**INTRADAY_SECONDS, "1d": 86400, "1w": 7 * 86400, "1M": 31 * 86400}


def intraday_bucket(minute_start: int, interval: str) -> int:
    width = INTRADAY_SECONDS[interval]
    return minute_start - minute_start % width


def session_buckets(table: SessionTable, session_index: int) -> dict[str, int]:
    """Daily, weekly and monthly bucket labels of one session."""
    return {"1d": table.opens[session_index], "1w": table.week_labels[session_index],
            "1M": table.month_labels[session_index]}
