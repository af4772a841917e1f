"""The New York regular session (09:30–16:00, early closes included) for full-day races."""
from __future__ import annotations

import functools
import warnings
from datetime import datetime
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")


@functools.cache
def _calendar():
    import exchange_calendars

    return exchange_calendars.get_calendar("XNYS")


def session_on(moment: datetime) -> tuple[datetime, datetime] | None:
    """(open, close) of the session on moment's New York date, or None on a weekend or holiday."""
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = _calendar()
        day = pd.Timestamp(moment.astimezone(NEW_YORK).date())
        if day < cal.first_session or day > cal.last_session or not cal.is_session(day):
            return None
        return (cal.session_open(day).to_pydatetime(), cal.session_close(day).to_pydatetime())


def next_session(moment: datetime) -> tuple[datetime, datetime]:
    """(open, close) of the first session opening at or after moment."""
    import pandas as pd

    today = session_on(moment)
    if today is not None and today[0] >= moment:
        return today
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = _calendar()
        open_ts = cal.next_open(pd.Timestamp(moment))
        session = cal.minute_to_session(open_ts)
        return (open_ts.to_pydatetime(), cal.session_close(session).to_pydatetime())


def real_feed() -> bool:
    """A real market-data provider: its stocks trade only in the regular session (the simulator trades
    around the clock)."""
    from django.conf import settings

    return settings.MARKET_DATA_PROVIDER in ("finnhub", "alpaca")


def within_session(start: datetime, end: datetime) -> bool:
    """Whether [start, end] lies inside one regular session."""
    session = session_on(start)
    return session is not None and session[0] <= start and end <= session[1]


def first_fit(start: datetime, length) -> datetime:
    """The earliest instant at or after ``start`` from which a race of ``length`` (a timedelta) runs
    inside one regular session."""
    moment = start
    for _ in range(60):  # weekends and holidays: a few steps at most
        session = session_on(moment)
        if session is not None:
            begin = max(moment, session[0])
            if begin + length <= session[1]:
                return begin
            moment = next_session(session[1])[0]
        else:
            moment = next_session(moment)[0]
    return moment
