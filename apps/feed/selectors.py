"""Reads of the feed: data gaps overlapping a window, symbols in active races, snapshots."""
from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet

from apps.feed.models import DataGap, PriceSnapshot
from apps.races.models import Race, RaceEntry

ACTIVE_RACE_STATES = (Race.State.OPEN, Race.State.RUNNING)


def gaps_overlapping(start: datetime, end: datetime, symbols: list[str] | None = None) -> QuerySet[DataGap]:
    """Data gaps that share any instant with [start, end]; with ``symbols``, only gaps of the
    whole feed or of one of those symbols. A race overlapping one is worth a review."""
    gaps = DataGap.objects.filter(start__lte=end, end__gte=start)
    if symbols:
        gaps = gaps.filter(Q(symbols=[]) | Q(symbols__overlap=list(symbols)))
    return gaps.order_by("start")


def active_race_symbols() -> set[str]:
    """Symbols of every race that is open for bets or running: snapshotted every second."""
    return set(RaceEntry.objects.filter(race__state__in=ACTIVE_RACE_STATES)
               .values_list("stock__symbol", flat=True).distinct())


def snapshots_between(symbol: str, start: datetime, end: datetime) -> QuerySet[PriceSnapshot]:
    return PriceSnapshot.objects.filter(symbol=symbol, ts__gte=start, ts__lte=end).order_by("ts")
