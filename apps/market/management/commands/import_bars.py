"""manage.py import_bars FILE... — load historical OHLCV bars from CSV files as candles.

    .venv/bin/python manage.py import_bars ../shared/data/market/intraday_1min/*.csv --tz America/New_York --label end
    .venv/bin/python manage.py import_bars ../shared/data/market/daily_sp500/AAPL_data.csv

The symbol comes from --symbol or the file name (AAPL_1min.csv -> AAPL); unknown symbols are
added and marked as imported. The interval comes from --interval or the spacing of the bars
(dates only: 1d). Importing the same file again changes nothing.
"""
from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from apps.market.bar_files import IMPORTABLE_INTERVALS, BarFileError, read_bar_file
from apps.market.candle_import import candles_import_file


class Command(BaseCommand):
    help = "Import OHLCV bars from CSV files as candles (and roll up the higher intervals)."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--tz", default="America/New_York",
                            help="time zone of times without a zone in the files (default America/New_York)")
        parser.add_argument("--label", choices=("end", "start"), default="end",
                            help="whether an intraday bar's time is its start or its end (default end)")
        parser.add_argument("--symbol", help="symbol of every file (default: from each file name)")
        parser.add_argument("--interval", choices=IMPORTABLE_INTERVALS, help="bar interval (default: inferred)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, files, tz, label, symbol, interval, no_progress, **options):
        try:
            zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise CommandError(f"unknown time zone {tz!r} (use an IANA name such as America/New_York)") from None
        if symbol is not None and len(files) > 1:
            raise CommandError("--symbol applies to one file; name the files after their symbols instead")
        if symbol is not None and not symbol.strip():
            raise CommandError("--symbol must not be empty")
        parsed = []
        for name in files:
            try:
                parsed.append(read_bar_file(Path(name), tz=zone, label=label, interval=interval, symbol=symbol))
            except BarFileError as exc:
                raise CommandError(str(exc)) from None
        total_changed = 0
        with tqdm(total=sum(len(f.starts) for f in parsed), unit="bar", disable=no_progress,
                  file=self.stderr._out) as bar:
            for bar_file in parsed:
                bar.set_postfix_str(f"{bar_file.symbol} {bar_file.interval}")
                stock, created, changed = candles_import_file(bar_file=bar_file, progress=bar.update)
                total_changed += changed
                note = " (new symbol, marked imported)" if created else ""
                skipped = (f", {bar_file.skipped_non_sessions} rows on days the exchange was closed skipped"
                           if bar_file.skipped_non_sessions else "")
                bar.write(f"{bar_file.path.name}: {stock.symbol} {bar_file.interval}, {len(bar_file.starts)} bars, "
                          f"{changed} candles written{note}{skipped}", file=self.stdout._out)
        self.stdout.write(f"{len(parsed)} file(s), {total_changed} candles inserted or changed")
