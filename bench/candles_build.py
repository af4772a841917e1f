"""Benchmark: candle build (1m base plus 5m/15m/1h/1d/1w/1M rollups) for one week of 1-minute
data for 100 symbols.

    .venv/bin/python bench/candles_build.py                      # 100 symbols, flush every 15 data-minutes
    .venv/bin/python bench/candles_build.py --symbols 100 --flush-minutes 1

What it does:
1. creates a database of its own (``bench_portal_candles``, dropped and created afresh on the
   app's PostgreSQL server) and migrates it;
2. synthesises ``--symbols`` symbols from the 13 real 1-minute files in
   ../shared/data/market/intraday_1min (11-15 Feb 2019, 390 bars a day): symbol k replays file
   k mod 13 with its prices scaled by 1 + 0.01 * (k div 13), so 100 symbols make ~195,000 bars;
3. **ticks**: turns every bar into 4 trades (open, high, low, close; the volume split over
   them) and feeds them minute by minute, all symbols interleaved, to one ``CandleBuilder``,
   flushing after every ``--flush-minutes`` minutes of data (the worker flushes once a second;
   this sets how many trades pile up between flushes). Times ``add_trade`` and ``flush``
   separately and reports the flush latencies;
4. **import**: empties the candle table and builds the same candles through the import path
   (``candles_import_file``: 1m upserts plus bucket-local rollups), symbol by symbol;
5. checks both builds produced the same candles (count, volume and price sums per interval).
"""
from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from _support import BASE_DIR, recreate_database

BENCH_DB = "bench_portal_candles"
DATA_DIR = BASE_DIR.parent / "shared" / "data" / "market" / "intraday_1min"
NEW_YORK = ZoneInfo("America/New_York")


def setup_database() -> None:
    """Point Django at a fresh database of our own on the app's server, and migrate it."""
    os.environ["DATABASE_URL"] = recreate_database(BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockrace.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def load_sources() -> list[list[tuple[int, tuple]]]:
    """Each real file as [(bar start epoch, (open, high, low, close, volume))], oldest first."""
    files = sorted(DATA_DIR.glob("*_1min.csv"))
    if len(files) != 13:
        raise SystemExit(f"expected 13 files in {DATA_DIR}, found {len(files)}")
    sources = []
    for path in files:
        with path.open() as handle:
            rows = []
            for r in csv.DictReader(handle):
                end = datetime.fromisoformat(r["datetime"]).replace(tzinfo=NEW_YORK)
                start = int((end - timedelta(minutes=1)).timestamp())
                rows.append((start, (float(r["open"]), float(r["high"]), float(r["low"]), float(r["close"]),
                                     int(r["volume"]))))
        sources.append(sorted(rows))
    return sources


def synthesise(sources, symbols: int) -> dict[str, list[tuple[int, tuple]]]:
    out = {}
    for k in range(symbols):
        scale = 1 + 0.01 * (k // len(sources))
        out[f"B{k:03d}"] = [(start, (round(o * scale, 4), round(h * scale, 4), round(lo * scale, 4),
                                     round(c * scale, 4), v)) for start, (o, h, lo, c, v) in sources[k % len(sources)]]
    return out


def checksums() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT interval, count(*), sum(volume), round(sum(open + high + low + close)::numeric, 4) "
                       "FROM market_candle GROUP BY interval ORDER BY interval")
        return {row[0]: row[1:] for row in cursor.fetchall()}


def run_ticks(data: dict, flush_minutes: int) -> dict:
    from apps.market.candles import CandleBuilder

    by_minute: dict[int, list] = {}
    for symbol, bars in data.items():
        for start, bar in bars:
            by_minute.setdefault(start, []).append((symbol, bar))
    builder = CandleBuilder()
    add_seconds = 0.0
    flushes: list[float] = []
    rows = trades = 0
    wall = time.perf_counter()
    for n, minute in enumerate(sorted(by_minute), start=1):
        batch = []
        for symbol, (o, h, lo, c, v) in by_minute[minute]:
            q = v // 4
            batch += [(symbol, minute + 0.5, o, q), (symbol, minute + 20.0, h, q), (symbol, minute + 40.0, lo, q),
                      (symbol, minute + 59.5, c, v - 3 * q)]
        t = time.perf_counter()
        add = builder.add_trade
        for symbol, ts, price, size in batch:
            add(symbol, ts, price, size)
        add_seconds += time.perf_counter() - t
        trades += len(batch)
        if n % flush_minutes == 0:
            t = time.perf_counter()
            rows += builder.flush()
            flushes.append(time.perf_counter() - t)
    t = time.perf_counter()
    rows += builder.flush()
    flushes.append(time.perf_counter() - t)
    return {"trades": trades, "rows": rows, "add_seconds": add_seconds, "flushes": flushes,
            "wall": time.perf_counter() - wall}


def run_import(data: dict) -> dict:
    from apps.market.bar_files import BarFile
    from apps.market.candle_import import candles_import_file

    bars = changed = 0
    wall = time.perf_counter()
    for symbol, rows in data.items():
        bar_file = BarFile(path=Path(f"{symbol}_1min.csv"), symbol=symbol, interval="1m",
                           starts=[s for s, _ in rows], rows=[r for _, r in rows])
        changed += candles_import_file(bar_file=bar_file)[2]
        bars += len(rows)
    return {"bars": bars, "changed": changed, "wall": time.perf_counter() - wall}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--flush-minutes", type=int, default=15, help="minutes of data between flushes")
    args = parser.parse_args()
    setup_database()
    from django.db import connection

    from apps.market.models import Stock
    from apps.market.sessions import session_table

    session_table()  # built once per process; not part of the figures
    data = synthesise(load_sources(), args.symbols)
    Stock.objects.bulk_create(Stock(symbol=s, name=s, sector="Bench") for s in data)
    total_bars = sum(len(b) for b in data.values())
    print(f"{args.symbols} symbols, {total_bars:,} one-minute bars (one week), database {BENCH_DB}", flush=True)

    ticks = run_ticks(data, args.flush_minutes)
    after_ticks = checksums()
    f = ticks["flushes"]
    print(f"\nticks -> CandleBuilder (flush every {args.flush_minutes} data-minutes, "
          f"{ticks['trades'] // max(1, len(f)):,} trades per flush):")
    print(f"  {ticks['trades']:,} trades, {ticks['rows']:,} candle rows written in {len(f)} flushes")
    print(f"  add_trade: {ticks['trades'] / ticks['add_seconds']:,.0f} trades/s ({ticks['add_seconds']:.2f} s)")
    print(f"  flush: {sum(f):.2f} s in all, {ticks['rows'] / sum(f):,.0f} rows/s; per flush median "
          f"{statistics.median(f) * 1000:.0f} ms, p95 {pct(f, 95) * 1000:.0f} ms, max {max(f) * 1000:.0f} ms")
    print(f"  whole week built in {ticks['wall']:.2f} s ({ticks['trades'] / ticks['wall']:,.0f} trades/s end to end)")

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE market_candle")
    imported = run_import(data)
    after_import = checksums()
    print(f"\nimport path (candles_import_file per symbol: 1m upserts + bucket-local rollups):")
    print(f"  {imported['bars']:,} bars -> {imported['changed']:,} candles in {imported['wall']:.2f} s "
          f"({imported['bars'] / imported['wall']:,.0f} bars/s)")
    print("\ncandles per interval:", {k: v[0] for k, v in after_import.items()})
    same = after_ticks == after_import
    print(f"both builds identical (count, volume, price sums per interval): {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
