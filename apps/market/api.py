"""Market API: the stock list and search, one stock, live quotes, candles with indicators.

Live prices come from Redis (apps.market.quotes) in one round trip per request; metadata and
candles from PostgreSQL through apps.market.selectors. Every refusal is a 4xx in the error shape.
"""
from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta, timezone

import redis
from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api import ApiError, Pagination
from apps.core.redis import get_redis
from apps.market import selectors
from apps.market.indicator_specs import SpecError, parse_specs, warmup_for
from apps.market.intervals import INTERVALS, NOMINAL_SECONDS
from apps.market.models import Stock
from apps.market.quotes import Quote, read_quotes_at
from apps.market.serializers import (CandlesResponseSerializer, QuotesResponseSerializer, StockDetailSerializer,
                                     StockSerializer)

SYMBOL_RE = re.compile(r"[A-Z0-9][A-Z0-9.\-]{0,15}")
MAX_QUOTE_SYMBOLS = 100
MAX_SEARCH_LENGTH = 100
ORDERINGS = ("symbol", "name", "market_cap", "change")
DEFAULT_CANDLES = 500  # candles returned when no start is given
MAX_SPAN_BUCKETS = 20_000  # a request may span at most this many nominal buckets (1m: ~2 weeks)


@functools.cache
def _redis() -> redis.Redis:
    # One client object per process: building a redis.Redis (its callback tables) costs about
    # as much as the quotes read itself; the client is thread-safe and shares get_redis()'s pool.
    return get_redis()


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(f"{field}: {message}", code="invalid", fields={field: [message]})


def quote_payload(quote: Quote | None, now: float) -> dict | None:
    if quote is None:
        return None
    return {"price": quote.price, "bid": quote.bid, "ask": quote.ask, "volume": quote.volume, "ts": quote.ts,
            "stale": now - quote.recv > settings.MARKET_DATA_STALE_SECONDS}


def _change(stock: Stock, quote: Quote | None) -> tuple[float | None, float | None]:
    base = float(stock.reference_price) if stock.reference_price else None
    if quote is None or not base:
        return None, None
    change = quote.price - base
    return round(change, 6), round(100.0 * change / base, 4)


def stock_payload(stock: Stock, quote: Quote | None, now: float) -> dict:
    change, change_pct = _change(stock, quote)
    return {"symbol": stock.symbol, "name": stock.name, "sector": stock.sector, "industry": stock.industry,
            "exchange": stock.exchange, "market_cap": stock.market_cap, "quote": quote_payload(quote, now),
            "change": change, "change_pct": change_pct}


def _float(value) -> float | None:
    return None if value is None else float(value)


class StockListView(APIView):
    permission_classes = [permissions.AllowAny]
    pagination_class = Pagination  # also tells the schema the list is paginated

    @extend_schema(
        summary="List and search stocks",
        parameters=[
            OpenApiParameter("search", str, description="Words matched as prefixes against symbol, former symbols, "
                             "name, sector and industry (e.g. 'apple', 'AAPL', 'semiconductor')."),
            OpenApiParameter("sector", str, description="Exact sector, case-insensitive (e.g. Technology)."),
            OpenApiParameter("ordering", str, enum=[*ORDERINGS, *(f"-{o}" for o in ORDERINGS)],
                             description="Sort key; '-' for descending. Default: relevance for a search, else symbol. "
                                         "'change' sorts by today's change in percent (live quotes)."),
        ],
        responses={200: StockSerializer(many=True)},
    )
    def get(self, request):
        search = request.query_params.get("search", "").strip()
        sector = request.query_params.get("sector", "").strip()
        ordering = request.query_params.get("ordering", "").strip()
        if len(search) > MAX_SEARCH_LENGTH:
            raise _invalid("search", f"at most {MAX_SEARCH_LENGTH} characters")
        if ordering and ordering.lstrip("-") not in ORDERINGS:
            raise _invalid("ordering", f"must be one of {', '.join(ORDERINGS)} (prefix '-' for descending)")
        paginator = self.pagination_class()
        client = _redis()
        if ordering.lstrip("-") == "change":
            # Live order: every matching stock's quote in one round trip, sorted here.
            stocks = list(selectors.stock_list(search=search, sector=sector))
            quotes, now = read_quotes_at(client, [s.symbol for s in stocks])
            rows = [stock_payload(s, quotes.get(s.symbol), now) for s in stocks]
            known = sorted((r for r in rows if r["change_pct"] is not None), key=lambda r: r["change_pct"],
                           reverse=ordering.startswith("-"))
            page = paginator.paginate_queryset(known + [r for r in rows if r["change_pct"] is None], request, view=self)
            return paginator.get_paginated_response(page)
        page = paginator.paginate_queryset(selectors.stock_list(search=search, sector=sector, ordering=ordering),
                                           request, view=self)
        quotes, now = read_quotes_at(client, [s.symbol for s in page])
        return paginator.get_paginated_response([stock_payload(s, quotes.get(s.symbol), now) for s in page])


def _stock_or_404(symbol: str) -> Stock:
    stock = selectors.stock_get(symbol=symbol) if SYMBOL_RE.fullmatch(symbol.upper()) else None
    if stock is None:
        raise ApiError(f"No stock with the symbol {symbol!r}.", code="not_found", status_code=404)
    return stock


class StockDetailView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(summary="One stock: metadata and latest quote", responses={200: StockDetailSerializer})
    def get(self, request, symbol: str):
        stock = _stock_or_404(symbol)
        quotes, now = read_quotes_at(_redis(), [stock.symbol])
        body = stock_payload(stock, quotes.get(stock.symbol), now)
        body.update({
            "former_symbols": stock.former_symbols.split(), "week52_high": _float(stock.week52_high),
            "week52_low": _float(stock.week52_low), "avg_volume": stock.avg_volume,
            "previous_close": _float(stock.reference_price), "ipo_date": stock.ipo_date,
            "is_active": stock.is_active, "is_imported": stock.is_imported, "delisted_at": stock.delisted_at,
        })
        return Response(body)


class QuotesView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        summary="Latest quotes of several symbols",
        parameters=[OpenApiParameter("symbols", str, required=True,
                                     description=f"Comma-separated symbols, at most {MAX_QUOTE_SYMBOLS}.")],
        responses={200: QuotesResponseSerializer},
    )
    def get(self, request):
        raw = request.query_params.get("symbols", "")
        symbols = list(dict.fromkeys(s.strip().upper() for s in raw.split(",") if s.strip()))
        if not symbols:
            raise _invalid("symbols", "give one or more comma-separated symbols, e.g. AAPL,MSFT")
        if len(symbols) > MAX_QUOTE_SYMBOLS:
            raise _invalid("symbols", f"at most {MAX_QUOTE_SYMBOLS} symbols per request")
        bad = [s for s in symbols if not SYMBOL_RE.fullmatch(s)]
        if bad:
            raise _invalid("symbols", f"not a symbol: {', '.join(bad[:5])}")
        quotes, now = read_quotes_at(_redis(), symbols)
        return Response({"quotes": {s: quote_payload(q, now) for s, q in quotes.items()},
                         "unknown": [s for s in symbols if s not in quotes], "as_of": now})


def _parse_time(field: str, value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip().replace(" ", "+") if "T" in value else value.strip())
    except ValueError:
        raise _invalid(field, f"not an ISO 8601 time: {value[:40]!r} (e.g. 2019-02-11T14:30:00Z)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


class CandlesView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        summary="Candles of one stock, with indicators",
        parameters=[
            OpenApiParameter("interval", str, enum=list(INTERVALS), description="Default 1d."),
            OpenApiParameter("start", OpenApiTypes.DATETIME, description="ISO 8601; a time without a zone is UTC. "
                             f"Default: {DEFAULT_CANDLES} intervals before end."),
            OpenApiParameter("end", OpenApiTypes.DATETIME, description="ISO 8601, exclusive. Default: now."),
            OpenApiParameter("indicators", str, description="Comma-separated: sma:N, ema:N, rsi:N, "
                             "macd[:fast:slow:signal], bbands[:N:k], e.g. sma:20,rsi:14,macd,bbands."),
        ],
        responses={200: CandlesResponseSerializer},
    )
    def get(self, request, symbol: str):
        params = request.query_params
        interval = params.get("interval", "1d").strip()
        if interval not in INTERVALS:
            raise _invalid("interval", f"must be one of {', '.join(INTERVALS)}")
        nominal = timedelta(seconds=NOMINAL_SECONDS[interval])
        end = _parse_time("end", params["end"]) if params.get("end") else datetime.now(timezone.utc)
        try:
            start = _parse_time("start", params["start"]) if params.get("start") else end - DEFAULT_CANDLES * nominal
        except OverflowError:
            raise _invalid("end", "too far in the past") from None
        if start >= end:
            raise _invalid("start", "must be before end")
        if (end - start) / nominal > MAX_SPAN_BUCKETS:
            raise _invalid("end", f"too long a span: at most {MAX_SPAN_BUCKETS} {interval} intervals per request "
                                  f"(about {MAX_SPAN_BUCKETS * nominal.total_seconds() / 86400:g} days)")
        try:
            specs = parse_specs(params.get("indicators", ""))
        except SpecError as exc:
            raise _invalid("indicators", str(exc)) from None
        stock = _stock_or_404(symbol)
        rows, earlier = selectors.candle_range(stock=stock, interval=interval, start=start, end=end,
                                               warmup=warmup_for(specs))
        candles = [{"start": r.start, "open": r.open, "high": r.high, "low": r.low, "close": r.close,
                    "volume": r.volume} for r in rows]
        if specs:
            closes = [r.close for r in earlier] + [r.close for r in rows]
            skip = len(earlier)
            for spec in specs:
                values = spec.compute(closes)[skip:]
                for candle, value in zip(candles, values):
                    candle.setdefault("indicators", {})[spec.key] = value
        return Response({"symbol": stock.symbol, "interval": interval, "start": start, "end": end,
                         "indicators": [s.key for s in specs], "candles": candles})
