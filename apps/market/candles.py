"""Candles built from trades as they arrive: a 1-minute base and incremental rollups.

The market-data worker calls ``CandleBuilder.add_trade`` for every trade and ``flush`` about
once a second. Between flushes trades are aggregated in memory per (symbol, minute); a flush
turns those minute aggregates into per-bucket *deltas* for every interval and applies them in
one set-based ``INSERT ... ON CONFLICT DO UPDATE`` (an ``unnest`` of arrays): high and low merge
with GREATEST/LEAST, volume adds up, and open/close are kept by trade time (``open_ts`` /
``close_ts``), so late or out-of-order trades land where they belong. Nothing is ever rescanned.

Labelling: every candle is labelled by its bucket's start in UTC. 1m/5m/15m/1h buckets are
clock buckets and take every trade, including pre- and post-market ones. 1d/1w/1M buckets take
regular-session minutes only (NYSE calendar, 09:30–16:00 America/New_York, early closes
honoured): a daily candle is labelled by its session's open (e.g. 14:30 UTC in winter), a weekly
candle by the open of the first session of that ISO week, a monthly one by the open of the
month's first session. A bucket without trades gets no candle.
"""
from __future__ import annotations

import logging
import math
import time

import psycopg
from django.db import connection, transaction

from apps.market.intervals import INTRADAY_SECONDS, session_buckets
from apps.market.models import Stock
from apps.market.sessions import session_table

log = logging.getLogger("stockrace.market.candles")

# Positions in an aggregate list: [open_ts, open, high, low, close_ts, close, volume]
OPEN_TS, OPEN, HIGH, LOW, CLOSE_TS, CLOSE, VOLUME = range(7)
UNKNOWN_RECHECK_SECONDS = 60.0

UPSERT_DELTAS_SQL = """
INSERT INTO market_candle AS c (stock_id, interval, start, open, high, low, close, volume, open_ts, close_ts)
SELECT t.stock_id, t.interval, to_timestamp(t.start), t.open, t.high, t.low, t.close, t.volume,
       to_timestamp(t.open_ts), to_timestamp(t.close_ts)
FROM unnest(%b::bigint[], %b::text[], %b::float8[], %b::float8[], %b::float8[], %b::float8[],
            %b::float8[], %b::bigint[], %b::float8[], %b::float8[])
     AS t(stock_id, interval, start, open, high, low, close, volume, open_ts, close_ts)
ORDER BY t.stock_id, t.interval, t.start  -- one lock order for concurrent writers
ON CONFLICT (stock_id, interval, start) DO UPDATE SET
    high = GREATEST(c.high, EXCLUDED.high),
    low = LEAST(c.low, EXCLUDED.low),
    volume = c.volume + EXCLUDED.volume,
    open = CASE WHEN EXCLUDED.open_ts < c.open_ts THEN EXCLUDED.open ELSE c.open END,
    open_ts = LEAST(c.open_ts, EXCLUDED.open_ts),
    close = CASE WHEN EXCLUDED.close_ts >= c.close_ts THEN EXCLUDED.close ELSE c.close END,
    close_ts = GREATEST(c.close_ts, EXCLUDED.close_ts)
"""


def execute_bound(sql: str, params) -> int:
    """Run one statement with server-side parameter binding on Django's connection (and its
    current transaction). Django's own cursor inlines parameters as SQL literals, which costs
    more than the statement itself for large arrays; array parameters are written ``%b``
    (binary), about five times cheaper to dump than text. Returns the row count."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def merge_into(into: list, agg: list) -> None:
    """Fold one aggregate into another (both in the OPEN_TS..VOLUME layout)."""
    if agg[OPEN_TS] < into[OPEN_TS]:
        into[OPEN_TS], into[OPEN] = agg[OPEN_TS], agg[OPEN]
    if agg[HIGH] > into[HIGH]:
        into[HIGH] = agg[HIGH]
    if agg[LOW] < into[LOW]:
        into[LOW] = agg[LOW]
    if agg[CLOSE_TS] >= into[CLOSE_TS]:
        into[CLOSE_TS], into[CLOSE] = agg[CLOSE_TS], agg[CLOSE]
    into[VOLUME] += agg[VOLUME]


def bucket_deltas(minutes: dict[tuple[int, int], list]) -> dict[tuple[int, str, int], list]:
    """Per-minute aggregates (keyed by stock id, minute start) -> deltas for every interval."""
    table = session_table()
    widths = tuple(INTRADAY_SECONDS.items())
    out: dict[tuple[int, str, int], list] = {}
    sessions: dict[int, tuple] = {}  # minute start -> the session buckets it feeds (or ())
    for (stock_id, minute), agg in minutes.items():
        session = sessions.get(minute)
        if session is None:
            index = table.index_of(minute)
            session = sessions[minute] = tuple(session_buckets(table, index).items()) if index is not None else ()
        for interval, width in widths:
            key = (stock_id, interval, minute - minute % width)
            current = out.get(key)
            if current is None:
                out[key] = agg.copy()
            else:
                merge_into(current, agg)
        for interval, start in session:
            key = (stock_id, interval, start)
            current = out.get(key)
            if current is None:
                out[key] = agg.copy()
            else:
                merge_into(current, agg)
    return out


def upsert_deltas(deltas: dict[tuple[int, str, int], list]) -> int:
    """Apply bucket deltas in one statement. Returns the number of candle rows written."""
    if not deltas:
        return 0
    cols: list[list] = [[] for _ in range(10)]
    for (stock_id, interval, start), agg in deltas.items():
        for col, value in zip(cols, (stock_id, interval, float(start), agg[OPEN], agg[HIGH], agg[LOW],
                                     agg[CLOSE], int(agg[VOLUME]), agg[OPEN_TS], agg[CLOSE_TS])):
            col.append(value)
    execute_bound(UPSERT_DELTAS_SQL, cols)
    return len(deltas)


class CandleBuilder:
    """Aggregates trades in memory and writes candle deltas on ``flush``. Not thread-safe:
    one builder per worker thread."""

    def __init__(self) -> None:
        self._pending: dict[tuple[str, int], list] = {}
        self._stock_ids: dict[str, int] = {}
        self.rejected_trades = 0  # non-positive or non-finite price, negative size
        self.unknown_symbols: set[str] = set()  # trades for symbols we do not list are dropped
        self._unknown_checked = time.monotonic()

    @property
    def pending(self) -> int:
        """Minute aggregates waiting for the next flush."""
        return len(self._pending)

    def add_trade(self, symbol: str, ts: float, price: float, size: int) -> None:
        """Record one trade (ts: provider time, epoch seconds UTC)."""
        if not (0.0 < price < math.inf) or size < 0 or not math.isfinite(ts):
            self.rejected_trades += 1
            return
        key = (symbol, int(ts // 60) * 60)
        agg = self._pending.get(key)
        if agg is None:
            self._pending[key] = [ts, price, price, price, ts, price, size]
            return
        if ts < agg[OPEN_TS]:
            agg[OPEN_TS], agg[OPEN] = ts, price
        if price > agg[HIGH]:
            agg[HIGH] = price
        elif price < agg[LOW]:
            agg[LOW] = price
        if ts >= agg[CLOSE_TS]:
            agg[CLOSE_TS], agg[CLOSE] = ts, price
        agg[VOLUME] += size

    def flush(self) -> int:
        """Write every change since the last flush in one transaction; returns rows written.

        If the write fails the trades stay pending and the next flush retries them.
        """
        pending, self._pending = self._pending, {}
        if not pending:
            return 0
        try:
            minutes = self._by_stock_id(pending)
            with transaction.atomic():
                return upsert_deltas(bucket_deltas(minutes))
        except Exception:
            for key, agg in pending.items():
                current = self._pending.get(key)
                if current is None:
                    self._pending[key] = agg
                else:
                    merge_into(current, agg)
            raise

    def _by_stock_id(self, pending: dict[tuple[str, int], list]) -> dict[tuple[int, int], list]:
        if time.monotonic() - self._unknown_checked > UNKNOWN_RECHECK_SECONDS:
            # A symbol sync may have listed them since.
            self.unknown_symbols.clear()
            self._unknown_checked = time.monotonic()
        missing = {symbol for symbol, _ in pending} - self._stock_ids.keys() - self.unknown_symbols
        if missing:
            found = dict(Stock.objects.filter(symbol__in=missing).values_list("symbol", "id"))
            self._stock_ids.update(found)
            newly_unknown = missing - found.keys()
            if newly_unknown:
                log.warning("candles: dropping trades of unlisted symbols %s", sorted(newly_unknown)[:20])
                self.unknown_symbols |= newly_unknown
        ids = self._stock_ids
        return {(ids[symbol], minute): agg for (symbol, minute), agg in pending.items() if symbol in ids}

    def forget_symbols(self) -> None:
        """Drop the symbol -> id cache (after a symbol sync added or renamed stocks)."""
        self._stock_ids.clear()
        self.unknown_symbols.clear()
