"""Recent momentum of the stocks in a race: each one's % change over a recent window.

Sources, best first (the first that knows every symbol wins, so one race's odds never mix
windows):
1. ``candles``: 1-minute candles of the last MOMENTUM_WINDOW (first open → last close);
2. ``daily``: the last two daily candles (yesterday's close → the latest close), for when the
   market is closed;
3. ``quotes``: the live quote in Redis against the stock's reference price (last close);
4. ``even``: nothing known — every stock counts as flat, which gives even odds.

The candle model belongs to apps.market and is looked up by name, so odds keep working
(falling back to quotes) on a database without candles.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.apps import apps
from django.db import DatabaseError

from apps.core.redis import get_redis
from apps.market.models import Stock
from apps.market.quotes import read_quotes

log = logging.getLogger(__name__)

MOMENTUM_WINDOW = timedelta(minutes=60)
DAILY_LOOKBACK = timedelta(days=10)


def _pct(first: float | None, last: float | None) -> float | None:
    if not first or last is None or first <= 0:
        return None
    return (last - first) / first * 100.0


def _candle_model():
    try:
        return apps.get_model("market", "Candle")
    except LookupError:
        return None


def from_candles(symbols: list[str], now: datetime) -> dict[str, float]:
    Candle = _candle_model()
    if Candle is None:
        return {}
    try:
        rows = (Candle.objects.filter(stock__symbol__in=symbols, interval="1m", start__gte=now - MOMENTUM_WINDOW,
                                      start__lte=now)
                .order_by("start").values_list("stock__symbol", "open", "close"))
        first: dict[str, float] = {}
        last: dict[str, float] = {}
        for symbol, open_, close in rows:
            first.setdefault(symbol, open_)
            last[symbol] = close
    except DatabaseError:
        log.exception("momentum from candles unavailable")
        return {}
    return {s: m for s in last if (m := _pct(first[s], last[s])) is not None}


def from_daily(symbols: list[str], now: datetime) -> dict[str, float]:
    Candle = _candle_model()
    if Candle is None:
        return {}
    closes: dict[str, list[float]] = defaultdict(list)
    try:
        rows = (Candle.objects.filter(stock__symbol__in=symbols, interval="1d", start__gte=now - DAILY_LOOKBACK,
                                      start__lte=now)
                .order_by("start").values_list("stock__symbol", "close"))
        for symbol, close in rows:
            closes[symbol].append(close)
    except DatabaseError:
        log.exception("momentum from daily candles unavailable")
        return {}
    return {s: m for s, c in closes.items() if len(c) >= 2 and (m := _pct(c[-2], c[-1])) is not None}


def from_quotes(symbols: list[str]) -> dict[str, float]:
    quotes = read_quotes(get_redis(), symbols)
    references = dict(Stock.objects.filter(symbol__in=list(quotes)).values_list("symbol", "reference_price"))
    out = {}
    for symbol, quote in quotes.items():
        reference = references.get(symbol)
        if (m := _pct(float(reference) if reference else None, quote.price)) is not None:
            out[symbol] = m
    return out


def race_momentum(symbols: list[str], now: datetime) -> tuple[dict[str, float | None], str]:
    """(momentum % per symbol, source name) for a race's symbols at ``now``."""
    for source, read in (("candles", lambda: from_candles(symbols, now)),
                         ("daily", lambda: from_daily(symbols, now)),
                         ("quotes", lambda: from_quotes(symbols))):
        found = read()
        if symbols and all(s in found for s in symbols):
            return {s: found[s] for s in symbols}, source
    return {s: None for s in symbols}, "even"
