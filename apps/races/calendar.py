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
