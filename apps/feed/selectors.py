"""Reads of the feed: data gaps overlapping a window, the symbols snapshotted every second,
snapshots."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from django.db.models import Q, QuerySet

from apps.feed.models import DataGap, PriceSnapshot

# Who needs a symbol snapshotted every second. The apps above the feed register a source here
# in their AppConfig.ready (apps.races: the stocks of races open for bets or running), so the
# feed asks them without knowing what a race is.
active_symbol_sources: list[Callable[[], Iterable[str]]] = []


def gaps_overlapping(start: datetime, end: datetime, symbols: list[str] | None = None) -> QuerySet[DataGap]:
    """Data gaps that share any instant with [start, end]; with ``symbols``, only gaps of the
    whole feed or of one of those symbols. A race overlapping one is worth a review."""
    gaps = DataGap.objects.filter(start__lte=end, end__gte=start)
    if symbols:
        gaps = gaps.filter(Q(symbols=[]) | Q(symbols__overlap=list(symbols)))
    return gaps.order_by("start")


def active_symbols() -> set[str]:
    """Every symbol a registered source wants snapshotted every second."""
    found: set[str] = set()
    for source in active_symbol_sources:
        found.update(source())
    return found


def snapshots_between(symbol: str, start: datetime, end: datetime) -> QuerySet[PriceSnapshot]:
    return PriceSnapshot.objects.filter(symbol=symbol, ts__gte=start, ts__lte=end).order_by("ts")
