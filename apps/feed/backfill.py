"""Backfill of a data gap from the provider's REST history, through the live pipeline.

The gap's trades go through the same Ingestor.apply as live ticks, before the first live
tick after the gap: the snapshot grid fills the gap's instants (flagged ``backfilled``), the
candle builder gets the trades, day volumes add them up. Providers without tick history
(Finnhub) backfill whole 1-minute bars inside the gap, each as four trades (open, high,
low, close) that rebuild the same candle.
"""
from __future__ import annotations

import logging
import math

from apps.feed.ingest import Ingestor
from apps.providers.base import Bar, MarketDataProvider, Tick

log = logging.getLogger("stockrace.market-data")
CHUNK_SECONDS = 1800  # one REST window (pages within it are followed by the adapter)
MAX_BACKFILL_SECONDS = 6 * 3600


def bar_trades(bar: Bar) -> list[Tick]:
    """Four trades that rebuild one 1-minute bar: open, high, low, then close with the volume."""
    return [Tick(bar.symbol, bar.open, bar.start, 0), Tick(bar.symbol, bar.high, bar.start + 15, 0),
            Tick(bar.symbol, bar.low, bar.start + 30, 0), Tick(bar.symbol, bar.close, bar.start + 59, bar.volume)]


def fetch_gap(provider: MarketDataProvider, symbols: list[str], start: float, end: float) -> list[Tick]:
    """Trades strictly after ``start`` and before ``end``, oldest first."""
    start = max(start, end - MAX_BACKFILL_SECONDS)
    ticks: list[Tick] = []
    cursor = start
    while cursor < end:
        stop = min(end, cursor + CHUNK_SECONDS)
        if provider.has_trade_history:
            ticks.extend(t for t in provider.fetch_trades(symbols, cursor, stop) if start < t.ts < end)
        else:
            first_minute = math.floor(cursor / 60) * 60
            for bar in provider.fetch_bars_many(symbols, first_minute, stop, "1m"):
                if bar.start > start and bar.start + 60 <= end:  # whole minutes inside the gap only
                    ticks.extend(bar_trades(bar))
        cursor = stop
    ticks.sort(key=lambda t: t.ts)
    return ticks


def backfill_gap(*, provider: MarketDataProvider, ingestor: Ingestor, symbols: list[str], start: float,
                 end: float) -> int:
    """Fetch and apply the gap's trades; returns how many. Raises ProviderError on failure."""
    ticks = fetch_gap(provider, symbols, start, end)
    grid = ingestor.grid
    grid.backfilling = True
    try:
        if ticks:
            ingestor.apply(ticks)
    finally:
        grid.backfilling = False
    return len(ticks)
