"""Reads of the stock universe and its candles, shaped for the market API."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db.models import Case, F, IntegerField, QuerySet, Value, When

from apps.market.models import Candle, Stock, SymbolChange

# The same expression as the GIN index market_stock_search_gin, so the index serves the filter.
SEARCH_VECTOR = SearchVector("symbol", "former_symbols", "name", "sector", "industry", config="simple")
MAX_SEARCH_TERMS = 8


def search_query(text: str) -> SearchQuery | None:
    """Every word as a prefix ('semicond' finds Semiconductors), all words required."""
    terms = [t.strip(".") for t in re.findall(r"[a-z0-9.]+", text.lower())]
    terms = [t for t in terms if t][:MAX_SEARCH_TERMS]
    if not terms:
        return None
    return SearchQuery(" & ".join(f"'{t}':*" for t in terms), search_type="raw", config="simple")


def stock_list(*, search: str = "", sector: str = "", ordering: str = "") -> QuerySet[Stock]:
    """Active stocks, optionally matching a search and a sector, in a database ordering
    (symbol, name or market_cap; '-' for descending; by default relevance for a search, else
    symbol). Ordering by change is done by the caller on live quotes."""
    stocks = Stock.objects.filter(is_active=True)
    if sector:
        stocks = stocks.filter(sector__iexact=sector)
    query = search_query(search) if search else None
    if search and query is None:
        return stocks.none()
    if query is not None:
        exact = search.strip().upper()
        stocks = (stocks.annotate(search=SEARCH_VECTOR).filter(search=query)
                  .annotate(exact=Case(When(symbol=exact, then=Value(1)), default=Value(0), output_field=IntegerField()),
                            rank=SearchRank(SEARCH_VECTOR, query)))
        if not ordering:
            # Relevance: the exact ticker first, then by rank.
            return stocks.order_by("-exact", "-rank", "symbol")
    ordering = ordering or "symbol"
    if ordering.lstrip("-") == "market_cap":
        cap = F("market_cap")
        # Unknown market caps last in both directions.
        return stocks.order_by(cap.desc(nulls_last=True) if ordering.startswith("-") else cap.asc(nulls_last=True),
                               "symbol")
    return stocks.order_by(ordering, "symbol")


def stock_get(*, symbol: str) -> Stock | None:
    """A stock by its ticker, or by a ticker it had before a rename."""
    symbol = symbol.strip().upper()
    stock = Stock.objects.filter(symbol=symbol).first()
    if stock is None:
        change = SymbolChange.objects.filter(old_symbol=symbol).select_related("stock").first()
        stock = change.stock if change else None
    return stock


@dataclass(frozen=True, slots=True)
class CandleRow:
    start: datetime
    open: float
    high: float
    low: float
    close: float
    volume: int


def candle_range(*, stock: Stock, interval: str, start: datetime, end: datetime,
                 warmup: int = 0) -> tuple[list[CandleRow], list[CandleRow]]:
    """(the candles with start in [start, end), oldest first; up to ``warmup`` candles before
    them, oldest first, for indicators). Two index range scans on (stock, interval, start)."""
    fields = ("start", "open", "high", "low", "close", "volume")
    base = Candle.objects.filter(stock=stock, interval=interval)
    rows = [CandleRow(*r) for r in base.filter(start__gte=start, start__lt=end).order_by("start").values_list(*fields)]
    earlier: list[CandleRow] = []
    if warmup > 0:
        earlier = [CandleRow(*r) for r in base.filter(start__lt=start).order_by("-start").values_list(*fields)[:warmup]]
        earlier.reverse()
    return rows, earlier


def sectors() -> list[str]:
    return list(Stock.objects.filter(is_active=True).exclude(sector="").order_by("sector")
                .values_list("sector", flat=True).distinct())
