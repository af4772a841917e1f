"""The New York Stock Exchange calendar as fast lookups: which minute belongs to which session.

Built once per process from ``exchange_calendars`` (XNYS: holidays, early closes at 13:00).
A session is identified by its open instant (epoch seconds, UTC); that instant is also the
label of the session's daily candle. A week's label is the open of its first session (ISO week,
Monday to Friday), a month's label the open of its first session.
"""
from __future__ import annotations

import bisect
import functools
import warnings
from dataclasses import dataclass
from datetime import date, datetime, timezone

# Far enough back for the bundled daily history (2013+) and the usual backfills.
CALENDAR_START = "2000-01-01"


@dataclass(frozen=True, slots=True)
class SessionTable:
    opens: list[int]  # session open, epoch seconds UTC, ascending
    closes: list[int]  # session close (16:00 or an early 13:00), epoch seconds UTC
    week_labels: list[int]  # open of the first session of the same ISO week
    month_labels: list[int]  # open of the first session of the same month
    by_date: dict[date, int]  # New York session date -> index

    def index_of(self, minute_start: float) -> int | None:
        """The session whose regular hours contain this instant, or None (closed, holiday, extended hours)."""
        i = bisect.bisect_right(self.opens, minute_start) - 1
        if i >= 0 and minute_start < self.closes[i]:
            return i
        return None

    def index_of_date(self, day: date) -> int | None:
        return self.by_date.get(day)

    def sessions_between(self, start: float, end: float) -> range:
        """Indexes of sessions opening in [start, end)."""
        return range(bisect.bisect_left(self.opens, start), bisect.bisect_left(self.opens, end))


@functools.cache
def session_table() -> SessionTable:
    import exchange_calendars

    with warnings.catch_warnings():
        # exchange_calendars 4.13 trips a pandas 3 deprecation warning inside its own code.
        warnings.simplefilter("ignore")
        schedule = exchange_calendars.get_calendar("XNYS", start=CALENDAR_START).schedule
    opens = [int(ts.timestamp()) for ts in schedule["open"]]
    closes = [int(ts.timestamp()) for ts in schedule["close"]]
    days = [ts.date() for ts in schedule.index]
    week_labels, month_labels = [], []
    week_first: dict[tuple[int, int], int] = {}
    month_first: dict[tuple[int, int], int] = {}
    for day, open_ts in zip(days, opens):
        iso = day.isocalendar()
        week_labels.append(week_first.setdefault((iso.year, iso.week), open_ts))
        month_labels.append(month_first.setdefault((day.year, day.month), open_ts))
    return SessionTable(opens=opens, closes=closes, week_labels=week_labels, month_labels=month_labels,
                        by_date={day: i for i, day in enumerate(days)})


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)
