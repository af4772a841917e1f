"""CandleBuilder: trades aggregated in memory, written as incremental upserts on flush."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from apps.market.candles import CandleBuilder
from apps.market.models import Candle

pytestmark = pytest.mark.django_db
NEW_YORK = ZoneInfo("America/New_York")


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


def candle(symbol: str, interval: str, start: str) -> Candle:
    return Candle.objects.get(stock__symbol=symbol, interval=interval, start=datetime.fromisoformat(start).replace(tzinfo=timezone.utc))


def test_trades_in_one_minute_make_one_candle_per_interval(make_stock):
    make_stock("AAPL")
    builder = CandleBuilder()
    # Wednesday 13 Feb 2019, 10:01 New York = 15:01 UTC: inside the regular session.
    builder.add_trade("AAPL", ts("2019-02-13T15:01:05"), 170.0, 100)
    builder.add_trade("AAPL", ts("2019-02-13T15:01:30"), 171.5, 50)
    builder.add_trade("AAPL", ts("2019-02-13T15:01:10"), 169.0, 10)
    builder.add_trade("AAPL", ts("2019-02-13T15:01:59"), 170.5, 40)
    written = builder.flush()
    assert written == 7
    expected_starts = {"1m": "2019-02-13T15:01", "5m": "2019-02-13T15:00", "15m": "2019-02-13T15:00",
                       "1h": "2019-02-13T15:00", "1d": "2019-02-13T14:30", "1w": "2019-02-11T14:30",
                       "1M": "2019-02-01T14:30"}
    for interval, start in expected_starts.items():
        c = candle("AAPL", interval, start)
        assert (c.open, c.high, c.low, c.close, c.volume) == (170.0, 171.5, 169.0, 170.5, 200), interval
    assert builder.flush() == 0


def test_later_flushes_merge_by_time_even_out_of_order(make_stock):
    make_stock("MSFT")
    builder = CandleBuilder()
    builder.add_trade("MSFT", ts("2019-02-13T15:01:30"), 100.0, 10)
    builder.flush()
    builder.add_trade("MSFT", ts("2019-02-13T15:01:50"), 101.0, 5)  # new close
    builder.add_trade("MSFT", ts("2019-02-13T15:01:01"), 99.0, 5)  # late trade: new open and low
    builder.add_trade("MSFT", ts("2019-02-13T15:03:00"), 102.0, 1)  # next minutes, same 5m bucket
    builder.flush()
    one = candle("MSFT", "1m", "2019-02-13T15:01")
    assert (one.open, one.high, one.low, one.close, one.volume) == (99.0, 101.0, 99.0, 101.0, 20)
    five = candle("MSFT", "5m", "2019-02-13T15:00")
    assert (five.open, five.high, five.low, five.close, five.volume) == (99.0, 102.0, 99.0, 102.0, 21)
    assert Candle.objects.filter(stock__symbol="MSFT", interval="1m").count() == 2


def test_extended_hours_and_holidays_stay_out_of_daily_candles(make_stock):
    make_stock("AAPL")
    builder = CandleBuilder()
    builder.add_trade("AAPL", ts("2019-02-13T13:00:00"), 168.0, 10)  # 08:00 New York: pre-market
    builder.add_trade("AAPL", ts("2019-02-18T15:00:00"), 168.0, 10)  # Presidents' Day: closed
    builder.flush()
    assert set(Candle.objects.values_list("interval", flat=True)) == {"1m", "5m", "15m", "1h"}


def test_early_close_session_ends_at_13_new_york(make_stock):
    make_stock("AAPL")
    builder = CandleBuilder()
    builder.add_trade("AAPL", ts("2025-11-28T17:59:00"), 10.0, 1)  # 12:59 New York, day after Thanksgiving
    builder.add_trade("AAPL", ts("2025-11-28T18:00:00"), 11.0, 1)  # 13:00: after the early close
    builder.flush()
    daily = candle("AAPL", "1d", "2025-11-28T14:30")
    assert (daily.close, daily.volume) == (10.0, 1)


def test_unknown_symbols_and_bad_trades_are_dropped(make_stock):
    make_stock("AAPL")
    builder = CandleBuilder()
    builder.add_trade("NOPE", ts("2019-02-13T15:01:00"), 10.0, 1)
    builder.add_trade("AAPL", ts("2019-02-13T15:01:00"), float("nan"), 1)
    builder.add_trade("AAPL", ts("2019-02-13T15:01:00"), -1.0, 1)
    builder.add_trade("AAPL", ts("2019-02-13T15:01:00"), 1.0, -5)
    assert builder.flush() == 0
    assert builder.rejected_trades == 3
    assert builder.unknown_symbols == {"NOPE"}
    assert not Candle.objects.exists()


def test_a_failed_flush_keeps_the_trades_for_the_next_one(make_stock, monkeypatch):
    make_stock("AAPL")
    builder = CandleBuilder()
    builder.add_trade("AAPL", ts("2019-02-13T15:01:00"), 10.0, 1)
    import apps.market.candles as candles

    def boom(deltas):
        raise RuntimeError("database went away")

    monkeypatch.setattr(candles, "upsert_deltas", boom)
    with pytest.raises(RuntimeError):
        builder.flush()
    monkeypatch.undo()
    builder.add_trade("AAPL", ts("2019-02-13T15:01:30"), 12.0, 2)
    assert builder.flush() == 7
    c = candle("AAPL", "1m", "2019-02-13T15:01")
    assert (c.open, c.close, c.volume) == (10.0, 12.0, 3)


def test_candles_built_from_ticks_equal_the_same_bars_imported(make_stock):
    import csv
    from datetime import timedelta
    from io import StringIO

    from django.core.management import call_command

    from apps.market.intervals import INTERVALS
    from tests.market.conftest import INTRADAY_DIR, require

    path = require(INTRADAY_DIR / "MSFT_1min.csv")
    call_command("import_bars", str(path), "--no-progress", stdout=StringIO(), stderr=StringIO())
    make_stock("TICKS")
    builder = CandleBuilder()
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    for n, row in enumerate(reversed(rows), start=1):  # oldest first, as a feed would send them
        end = datetime.fromisoformat(row["datetime"]).replace(tzinfo=NEW_YORK)
        start = (end - timedelta(minutes=1)).timestamp()
        volume = int(row["volume"])
        sizes = [volume // 4, volume // 4, volume // 4, volume - 3 * (volume // 4)]
        for offset, column, size in zip((0.5, 20, 40, 59.9), ("open", "high", "low", "close"), sizes):
            builder.add_trade("TICKS", start + offset, float(row[column]), size)
        if n % 500 == 0:
            builder.flush()  # several flushes: rollups must merge deltas, not overwrite
    builder.flush()
    for interval in INTERVALS:
        imported = list(Candle.objects.filter(stock__symbol="MSFT", interval=interval).order_by("start")
                        .values_list("start", "open", "high", "low", "close", "volume"))
        built = list(Candle.objects.filter(stock__symbol="TICKS", interval=interval).order_by("start")
                     .values_list("start", "open", "high", "low", "close", "volume"))
        assert imported and built == imported, interval


def test_a_week_starting_on_a_holiday_is_labelled_by_its_first_session(make_stock):
    make_stock("AAPL")
    builder = CandleBuilder()
    builder.add_trade("AAPL", ts("2019-02-21T15:00:00"), 10.0, 1)  # Thursday after Presidents' Day
    builder.add_trade("AAPL", ts("2019-07-01T14:00:00"), 10.0, 1)  # summer time: the open is 13:30 UTC
    builder.flush()
    assert candle("AAPL", "1w", "2019-02-19T14:30").volume == 1
    assert candle("AAPL", "1d", "2019-07-01T13:30").volume == 1
    assert candle("AAPL", "1M", "2019-07-01T13:30").volume == 1
