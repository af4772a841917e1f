"""Reading OHLCV bar files (CSV) into bucket-start-labelled bars, for ``manage.py import_bars``.

Two layouts are understood (see ../shared/data/README.md): intraday bars with a ``datetime``
column (local exchange time without a zone, labelled by their start or by their end) and daily
bars with a ``date`` column (any extra column such as ``Name`` is ignored). Rows may come in any
order. Errors are raised as ``BarFileError`` with the file and line they concern.
"""
from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from apps.market.intervals import INTRADAY_SECONDS
from apps.market.sessions import session_table

TIME_COLUMNS = ("datetime", "timestamp", "time", "date")
PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
IMPORTABLE_INTERVALS = ("1m", "5m", "15m", "1h", "1d")


class BarFileError(ValueError):
    """A file we cannot import; the message names the file and, where it can, the line."""


@dataclass(slots=True)
class BarFile:
    path: Path
    symbol: str
    interval: str
    starts: list[int]  # bucket starts, epoch seconds UTC (for 1d: the session's open)
    rows: list[tuple[float, float, float, float, int]]  # open, high, low, close, volume
    skipped_non_sessions: int = 0  # daily rows dated on a day the exchange was closed


def symbol_from_path(path: Path) -> str:
    """``AAPL_1min.csv`` -> AAPL, ``BRK.B_data.csv`` -> BRK.B, ``msft.csv`` -> MSFT."""
    stem = path.name[: -len(".csv")] if path.name.lower().endswith(".csv") else path.stem
    return stem.split("_", 1)[0].strip().upper()


def read_bar_file(path: Path, *, tz: ZoneInfo, label: str, interval: str | None = None,
                  symbol: str | None = None) -> BarFile:
    if not path.is_file():
        raise BarFileError(f"{path}: no such file")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [name.strip().lower() for name in next(reader, [])]
        time_col = next((c for c in TIME_COLUMNS if c in header), None)
        missing = [c for c in PRICE_COLUMNS if c not in header]
        if time_col is None or missing:
            wanted = "a datetime or date column" if time_col is None else ", ".join(missing)
            raise BarFileError(f"{path}: missing {wanted} (found columns: {', '.join(header) or 'none'})")
        idx = [header.index(c) for c in (time_col, *PRICE_COLUMNS)]
        raw = []
        for line_no, row in enumerate(reader, start=2):
            if not row or not any(cell.strip() for cell in row):
                continue
            try:
                stamp, o, h, lo, c, v = (row[i].strip() for i in idx)
                prices = (float(o), float(h), float(lo), float(c))
                volume = int(float(v))
            except (IndexError, ValueError):
                raise BarFileError(f"{path}, line {line_no}: not a valid bar: {','.join(row)[:120]}") from None
            if not all(0 < p < float("inf") for p in prices) or volume < 0 or prices[2] > prices[1]:
                raise BarFileError(f"{path}, line {line_no}: impossible prices or volume: {','.join(row)[:120]}")
            raw.append((line_no, stamp, (*prices, volume)))
    if not raw:
        raise BarFileError(f"{path}: no bars in the file")
    bar_symbol = (symbol or symbol_from_path(path)).upper()
    if not bar_symbol:
        raise BarFileError(f"{path}: cannot tell the symbol from the file name; pass --symbol")
    if _is_daily(raw[0][1]):
        return _daily(path, bar_symbol, raw, interval)
    return _intraday(path, bar_symbol, raw, tz=tz, label=label, interval=interval)


def _is_daily(stamp: str) -> bool:
    return len(stamp) == 10 and stamp[4] == "-"


def _daily(path: Path, symbol: str, raw: list, interval: str | None) -> BarFile:
    if interval not in (None, "1d"):
        raise BarFileError(f"{path}: the file holds daily bars (dates only), not {interval}")
    table = session_table()
    bars: dict[int, tuple] = {}
    skipped = 0
    for line_no, stamp, values in raw:
        try:
            day = date.fromisoformat(stamp)
        except ValueError:
            raise BarFileError(f"{path}, line {line_no}: not a date: {stamp!r}") from None
        index = table.index_of_date(day)
        if index is None:
            skipped += 1
            continue
        if table.opens[index] in bars:
            raise BarFileError(f"{path}, line {line_no}: a second bar for {stamp}")
        bars[table.opens[index]] = values
    return _bar_file(path, symbol, "1d", bars, skipped)


def _intraday(path: Path, symbol: str, raw: list, *, tz: ZoneInfo, label: str, interval: str | None) -> BarFile:
    stamps = []
    for line_no, stamp, _ in raw:
        try:
            moment = datetime.fromisoformat(stamp)
        except ValueError:
            raise BarFileError(f"{path}, line {line_no}: not a date and time: {stamp!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz)
        stamps.append(int(moment.timestamp()))
    chosen = interval or _infer_interval(path, stamps)
    if chosen not in INTRADAY_SECONDS:
        raise BarFileError(f"{path}: the file holds intraday bars; {chosen} is not an intraday interval")
    width = INTRADAY_SECONDS[chosen]
    shift = width if label == "end" else 0
    bars: dict[int, tuple] = {}
    for (line_no, stamp, values), moment in zip(raw, stamps):
        start = moment - shift
        if start % width:
            raise BarFileError(f"{path}, line {line_no}: {stamp} is not on a {chosen} boundary")
        if start in bars:
            raise BarFileError(f"{path}, line {line_no}: a second bar for {stamp}")
        bars[start] = values
    return _bar_file(path, symbol, chosen, bars, 0)


def _infer_interval(path: Path, stamps: list[int]) -> str:
    ordered = sorted(set(stamps))
    gaps = Counter(b - a for a, b in zip(ordered, ordered[1:]))
    if not gaps:
        raise BarFileError(f"{path}: one bar is not enough to tell the interval; pass --interval")
    width = gaps.most_common(1)[0][0]
    for name, seconds in INTRADAY_SECONDS.items():
        if seconds == width:
            return name
    raise BarFileError(f"{path}: bars are {width} s apart, which is not one of "
                       f"{', '.join(INTRADAY_SECONDS)}; pass --interval")


def _bar_file(path: Path, symbol: str, interval: str, bars: dict[int, tuple], skipped: int) -> BarFile:
    starts = sorted(bars)
    return BarFile(path=path, symbol=symbol, interval=interval, starts=starts,
                   rows=[bars[s] for s in starts], skipped_non_sessions=skipped)
