"""Writing imported bars as candles and rebuilding the higher intervals they feed.

Imported bars *replace* the candles of their buckets (so importing the same file twice changes
nothing), then every higher interval is recomputed for the buckets the file touched only, from
the stored rows of the interval below: 5m/15m/1h from the imported intraday level; 1d from
regular-session 1m/5m/15m candles (1h buckets straddle the 09:30 open, so a 1h import feeds no
daily candle); 1w and 1M from 1d. Rows whose values do not change are not rewritten, and the
row counts returned are the candles actually inserted or changed.
"""
from __future__ import annotations

import math
from decimal import Decimal

from django.db import transaction

from apps.market.bar_files import BarFile
from apps.market.candles import execute_bound
from apps.market.intervals import INTRADAY_SECONDS
from apps.market.models import Stock
from apps.market.sessions import session_table

COLUMNS = "(stock_id, interval, start, open, high, low, close, volume, open_ts, close_ts)"
REPLACE = """
ON CONFLICT (stock_id, interval, start) DO UPDATE SET
    open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
    volume = EXCLUDED.volume, open_ts = EXCLUDED.open_ts, close_ts = EXCLUDED.close_ts
WHERE (c.open, c.high, c.low, c.close, c.volume, c.open_ts, c.close_ts)
      IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume,
                        EXCLUDED.open_ts, EXCLUDED.close_ts)
"""
UPSERT_BARS_SQL = f"""
INSERT INTO market_candle AS c {COLUMNS}
SELECT %s, %s, to_timestamp(t.start), t.open, t.high, t.low, t.close, t.volume,
       to_timestamp(t.start), to_timestamp(t.start)
FROM unnest(%b::float8[], %b::float8[], %b::float8[], %b::float8[], %b::float8[], %b::bigint[])
     AS t(start, open, high, low, close, volume)
ORDER BY t.start
{REPLACE}"""
# The aggregate of a group of source candles, open and close chosen by time.
AGGREGATE = """(array_agg(m.open ORDER BY m.open_ts, m.start))[1], max(m.high), min(m.low),
       (array_agg(m.close ORDER BY m.close_ts DESC, m.start DESC))[1], sum(m.volume),
       min(m.open_ts), max(m.close_ts)"""
REBUILD_INTRADAY_SQL = f"""
INSERT INTO market_candle AS c {COLUMNS}
SELECT m.stock_id, %(target)s, b.bucket, {AGGREGATE}
FROM market_candle m
CROSS JOIN LATERAL (SELECT to_timestamp(floor(extract(epoch FROM m.start) / %(width)s) * %(width)s) AS bucket) b
WHERE m.stock_id = %(stock)s AND m.interval = %(source)s
  AND m.start >= to_timestamp(%(lo)s) AND m.start < to_timestamp(%(hi)s)
GROUP BY m.stock_id, b.bucket
ORDER BY b.bucket
{REPLACE}"""
REBUILD_SESSION_SQL = f"""
WITH s AS (SELECT * FROM unnest(%(opens)b::float8[], %(closes)b::float8[], %(labels)b::float8[])
           AS s(open, close, label))
INSERT INTO market_candle AS c {COLUMNS}
SELECT m.stock_id, %(target)s, to_timestamp(s.label), {AGGREGATE}
FROM market_candle m
JOIN s ON m.start >= to_timestamp(s.open) AND m.start < to_timestamp(s.close)
WHERE m.stock_id = %(stock)s AND m.interval = %(source)s
  AND m.start >= to_timestamp(%(lo)s) AND m.start < to_timestamp(%(hi)s)
GROUP BY m.stock_id, s.label
ORDER BY s.label
{REPLACE}"""
# Intraday levels whose buckets never straddle a session's open or close (09:30, 13:00, 16:00).
SESSION_SOURCES = ("1m", "5m", "15m")


def stock_for_import(*, symbol: str) -> tuple[Stock, bool]:
    """The stock a file's bars belong to; an unknown symbol is added and marked as imported."""
    return Stock.objects.get_or_create(symbol=symbol, defaults={"name": symbol, "sector": "", "is_imported": True})


def candles_upsert_bars(*, stock_id: int, interval: str, starts: list[int], rows: list[tuple]) -> int:
    """Replace the candles of these buckets with the given bars. Returns rows inserted or changed."""
    if not starts:
        return 0
    columns = [[float(s) for s in starts]] + [list(col) for col in zip(*rows)]
    return execute_bound(UPSERT_BARS_SQL, [stock_id, interval, *columns])


def candles_rebuild_above(*, stock_id: int, interval: str, lo: int, hi: int) -> int:
    """Recompute every interval above ``interval`` for the buckets touching [lo, hi) epoch seconds."""
    changed = 0
    if interval in INTRADAY_SECONDS:
        width = INTRADAY_SECONDS[interval]
        for target, target_width in INTRADAY_SECONDS.items():
            if target_width > width and target_width % width == 0:
                changed += _rebuild_intraday(stock_id, interval, target, lo, hi)
        if interval not in SESSION_SOURCES:
            return changed
        changed += _rebuild_sessions(stock_id, interval, "1d", lo, hi)
    for target in ("1w", "1M"):
        changed += _rebuild_sessions(stock_id, "1d", target, lo, hi)
    return changed


def candles_import_file(*, bar_file: BarFile, chunk_rows: int = 5000, progress=None) -> tuple[Stock, bool, int]:
    """Import one parsed file in one transaction. Returns (stock, stock created, candles changed)."""
    width = INTRADAY_SECONDS.get(bar_file.interval, 0)
    with transaction.atomic():
        stock, created = stock_for_import(symbol=bar_file.symbol)
        if stock.reference_price is None and bar_file.rows:
            # A stock we knew no price for starts (in the simulator, in change figures) from the
            # last close of its history.
            stock.reference_price = Decimal(str(bar_file.rows[-1][3])).quantize(Decimal("0.0001"))
            stock.save(update_fields=["reference_price", "updated_at"])
        changed = 0
        for i in range(0, len(bar_file.starts), chunk_rows):
            changed += candles_upsert_bars(stock_id=stock.id, interval=bar_file.interval,
                                           starts=bar_file.starts[i:i + chunk_rows], rows=bar_file.rows[i:i + chunk_rows])
            if progress is not None:
                progress(len(bar_file.starts[i:i + chunk_rows]))
        if bar_file.starts:
            changed += candles_rebuild_above(stock_id=stock.id, interval=bar_file.interval,
                                             lo=bar_file.starts[0], hi=bar_file.starts[-1] + max(width, 1))
    return stock, created, changed


def _rebuild_intraday(stock_id: int, source: str, target: str, lo: int, hi: int) -> int:
    width = INTRADAY_SECONDS[target]
    params = {"stock": stock_id, "source": source, "target": target, "width": width,
              "lo": float(lo - lo % width), "hi": float(math.ceil(hi / width) * width)}
    return execute_bound(REBUILD_INTRADAY_SQL, params)


def _rebuild_sessions(stock_id: int, source: str, target: str, lo: int, hi: int) -> int:
    table = session_table()
    labels_of = {"1d": table.opens, "1w": table.week_labels, "1M": table.month_labels}[target]
    # Sessions the source range can touch (a daily source row starts at its session's open).
    touched = table.sessions_between(lo - 86400, hi)
    touched_labels = {labels_of[i] for i in touched if table.opens[i] < hi and table.closes[i] > lo}
    if not touched_labels:
        return 0
    first, last = min(touched_labels), max(touched_labels)
    # Every session of every touched bucket, so that a bucket is recomputed whole.
    indexes = [i for i in table.sessions_between(first, last + 40 * 86400) if first <= labels_of[i] <= last]
    params = {"stock": stock_id, "source": source, "target": target,
              "opens": [float(table.opens[i]) for i in indexes],
              "closes": [float(table.closes[i]) for i in indexes],
              "labels": [float(labels_of[i]) for i in indexes],
              "lo": float(table.opens[indexes[0]]), "hi": float(table.closes[indexes[-1]])}
    return execute_bound(REBUILD_SESSION_SQL, params)
