"""Writes of the feed: snapshots in one set-based statement, data-gap records."""
from __future__ import annotations

from datetime import datetime, timezone

from django.db import connection

from apps.feed.models import DataGap

# Rows are (symbol, ts epoch seconds, price, bid, ask, volume, backfilled).
SNAPSHOT_INSERT_SQL = """
INSERT INTO feed_pricesnapshot (symbol, ts, price, bid, ask, volume, backfilled)
SELECT t.symbol, to_timestamp(t.ts), t.price, t.bid, t.ask, t.volume, t.backfilled
FROM unnest(%s::text[], %s::float8[], %s::numeric[], %s::numeric[], %s::numeric[], %s::bigint[], %s::bool[])
     AS t(symbol, ts, price, bid, ask, volume, backfilled)
ON CONFLICT (symbol, ts) DO NOTHING
"""


def snapshots_write(*, rows: list[tuple]) -> int:
    """Insert snapshot rows in one statement; rows already stored (same symbol and instant)
    are left as they are. Returns the number of rows inserted."""
    if not rows:
        return 0
    columns = [list(col) for col in zip(*rows)]
    with connection.cursor() as cursor:
        cursor.execute(SNAPSHOT_INSERT_SQL, columns)
        return cursor.rowcount


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


def datagap_record(*, start: float, end: float, reason: str, provider: str, symbols: list[str] | None = None,
                   backfilled: bool = False, backfilled_trades: int = 0, note: str = "") -> DataGap:
    """Record one window (provider time, epoch seconds) in which the feed delivered nothing."""
    return DataGap.objects.create(start=_dt(start), end=_dt(max(start, end)), reason=reason, provider=provider,
                                  symbols=sorted(symbols or []), backfilled=backfilled,
                                  backfilled_trades=backfilled_trades, note=note[:200])
