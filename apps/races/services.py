"""Race writes: creation, themed creation and the staff actions (the lifecycle is in
apps.races.lifecycle, settlement in apps.races.settlement)."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from apps.market.models import Stock
from apps.races import calendar, scheduling, themes
from apps.races.models import Race, RaceEntry

DURATIONS = {
    Race.Duration.SPRINT_5M: timedelta(minutes=5),
    Race.Duration.QUARTER_15M: timedelta(minutes=15),
    Race.Duration.HOUR_1H: timedelta(hours=1),
    Race.Duration.DAY: timedelta(hours=6, minutes=30),  # one regular NYSE session
}
MIN_STOCKS, MAX_STOCKS = 3, 8


class RaceError(ValueError):
    pass


def race_window(*, duration: str, starts_at: datetime, session_aligned: bool | None = None) -> tuple[datetime, datetime]:
    """(start, end) of a race.

    A full-day race follows the New York regular session: with ``session_aligned=True`` it
    starts at the first session open at or after ``starts_at`` and ends at that session's close
    (13:00 on early-close days); with ``None`` (the default) it does so when ``starts_at`` is on a
    trading day at or before the open; otherwise (and with ``False``, the demo-friendly option)
    it simply lasts 6 h 30 min from ``starts_at``.
    """
    if duration == Race.Duration.DAY and session_aligned is not False:
        if session_aligned:
            return calendar.next_session(starts_at)
        session = calendar.session_on(starts_at)
        if session is not None and starts_at <= session[0]:
            return session
    return starts_at, starts_at + DURATIONS[duration]


def race_create(*, title: str, duration: str, symbols: list[str], starts_at: datetime, theme: str = "",
                betting_window: timedelta | None = None, session_aligned: bool | None = None,
                is_generated: bool = False) -> Race:
    if duration not in DURATIONS:
        raise RaceError(f"Unknown duration {duration!r}; choose one of {', '.join(DURATIONS)}.")
    symbols = list(dict.fromkeys(s.upper() for s in symbols))
    if not MIN_STOCKS <= len(symbols) <= MAX_STOCKS:
        raise RaceError(f"A race has {MIN_STOCKS} to {MAX_STOCKS} different stocks, not {len(symbols)}.")
    stocks = {s.symbol: s for s in Stock.objects.filter(symbol__in=symbols, is_active=True)}
    missing = [s for s in symbols if s not in stocks]
    if missing:
        raise RaceError(f"Unknown or inactive symbols: {', '.join(missing)}.")
    window = betting_window if betting_window is not None else timedelta(seconds=settings.RACE_BETTING_WINDOW_SECONDS)
    if window < timedelta(0):
        raise RaceError("The betting window cannot be negative.")
    start, end = race_window(duration=duration, starts_at=starts_at, session_aligned=session_aligned)
    if calendar.real_feed() and not calendar.within_session(start, end):
        raise RaceError("With a real market-data provider a race runs inside one regular session "
                        "(09:30–16:00 New York, earlier on half days), when its stocks trade; "
                        f"this one would run {start:%Y-%m-%d %H:%M} to {end:%H:%M} UTC.")
    with transaction.atomic():
        race = Race.objects.create(title=title[:120], theme=theme, duration=duration,
                                   betting_opens_at=start - window, starts_at=start, ends_at=end,
                                   is_generated=is_generated)
        RaceEntry.objects.bulk_create(
            RaceEntry(race=race, stock=stocks[symbol], lane=lane) for lane, symbol in enumerate(symbols, start=1)
        )
        # The first transitions are ETA tasks, so they happen on time even if beat sleeps.
        scheduling.schedule_upcoming_on_commit(race)
    return race


def race_create_themed(*, theme: str, duration: str, starts_at: datetime, stock_count: int = 5,
                       picks: list[str] | None = None, title: str = "", betting_window: timedelta | None = None,
                       session_aligned: bool | None = None, is_generated: bool = False,
                       rng: random.Random | None = None) -> Race:
    """Create a race whose stocks the theme picks (see apps.races.themes)."""
    if not MIN_STOCKS <= stock_count <= MAX_STOCKS:
        raise RaceError(f"A race has {MIN_STOCKS} to {MAX_STOCKS} stocks, not {stock_count}.")
    try:
        symbols = themes.theme_symbols(theme=theme, count=stock_count, rng=rng or random.Random(), picks=picks)
    except themes.ThemeError as exc:
        raise RaceError(str(exc)) from exc
    if not title:
        title = f"{themes.theme_label(theme)} · {Race.Duration(duration).label}"
    return race_create(title=title, duration=duration, symbols=symbols, starts_at=starts_at, theme=theme,
                       betting_window=betting_window, session_aligned=session_aligned, is_generated=is_generated)


def race_mark_reviewed(*, race_id: int) -> bool:
    """Staff looked at a flagged race: clear the flag (the reason stays for the record)."""
    return Race.objects.filter(pk=race_id, needs_review=True).update(needs_review=False) == 1
