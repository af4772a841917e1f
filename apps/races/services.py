"""Race writes: creation (the lifecycle lives in apps.races.lifecycle)."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from apps.market.models import Stock
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


def race_create(*, title: str, duration: str, symbols: list[str], starts_at: datetime, theme: str = "",
                betting_window: timedelta | None = None) -> Race:
    if duration not in DURATIONS:
        raise RaceError(f"Unknown duration {duration!r}; choose one of {', '.join(DURATIONS)}.")
    symbols = list(dict.fromkeys(s.upper() for s in symbols))
    if not MIN_STOCKS <= len(symbols) <= MAX_STOCKS:
        raise RaceError(f"A race has {MIN_STOCKS} to {MAX_STOCKS} different stocks, not {len(symbols)}.")
    stocks = {s.symbol: s for s in Stock.objects.filter(symbol__in=symbols, is_active=True)}
    missing = [s for s in symbols if s not in stocks]
    if missing:
        raise RaceError(f"Unknown or inactive symbols: {', '.join(missing)}.")
    window = betting_window or timedelta(seconds=settings.RACE_BETTING_WINDOW_SECONDS)
    with transaction.atomic():
        race = Race.objects.create(title=title, theme=theme, duration=duration,
                                   betting_opens_at=starts_at - window, starts_at=starts_at,
                                   ends_at=starts_at + DURATIONS[duration])
        RaceEntry.objects.bulk_create(
            RaceEntry(race=race, stock=stocks[symbol], lane=lane) for lane, symbol in enumerate(symbols, start=1)
        )
    return race
