"""manage.py import_bars: real bars in, candles out; pandas is the referee for the rollups."""
from __future__ import annotations

from io import StringIO

import exchange_calendars as xcals
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from apps.market.models import Candle, Stock
from tests.market.conftest import DAILY_DIR, INTRADAY_DIR, require

pytestmark = pytest.mark.django_db

AGG = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}


def import_bars(*args) -> str:
    out = StringIO()
    call_command("import_bars", *map(str, args), "--no-progress", stdout=out, stderr=StringIO())
    return out.getvalue()


def stored(symbol: str, interval: str) -> pd.DataFrame:
    rows = Candle.objects.filter(stock__symbol=symbol, interval=interval).order_by("start").values(
        "start", "open", "high", "low", "close", "volume")
    frame = pd.DataFrame.from_records(list(rows)).set_index("start")
    frame.index = pd.DatetimeIndex(frame.index).tz_convert("UTC").as_unit("ns")
    frame.index.name = None
    return frame


def minute_bars(path) -> pd.DataFrame:
    """The file as pandas reads it: end-labelled New York times -> start-labelled UTC."""
    frame = pd.read_csv(path, parse_dates=["datetime"]).set_index("datetime").sort_index()
    frame.index = (frame.index - pd.Timedelta(minutes=1)).tz_localize("America/New_York").tz_convert("UTC").as_unit("ns")
    frame.index.name = None
    return frame[list(AGG)]


@pytest.mark.slow
def test_intraday_rollups_equal_a_pandas_resample_of_the_real_bars():
    files = sorted(require(INTRADAY_DIR).glob("*_1min.csv"))
    assert len(files) == 13
    import_bars(*files, "--tz", "America/New_York", "--label", "end")
    for path in files:
        symbol = path.name.split("_")[0]
        bars = minute_bars(path)
        pd.testing.assert_frame_equal(stored(symbol, "1m"), bars, check_exact=True, check_freq=False)
        for interval, rule in (("5m", "5min"), ("15m", "15min"), ("1h", "1h")):
            expected = bars.resample(rule).agg(AGG)
            expected = expected[bars["open"].resample(rule).count() > 0]  # no invented candles
            pd.testing.assert_frame_equal(stored(symbol, interval), expected, check_exact=True,
                                          check_freq=False, check_dtype=False, obj=f"{symbol} {interval}")
        # One regular session a day (the files hold nothing outside 09:30-16:00).
        daily = bars.groupby(bars.index.tz_convert("America/New_York").date).agg(AGG)
        assert stored(symbol, "1d")[list(AGG)].to_numpy().tolist() == daily.to_numpy().tolist()


@pytest.mark.parametrize("symbol", ["AAPL", "BRK.B"])
def test_daily_weekly_monthly_from_daily_files(symbol):
    path = require(DAILY_DIR / f"{symbol}_data.csv")
    import_bars(path)
    bars = pd.read_csv(path, parse_dates=["date"]).set_index("date")[list(AGG)]
    # A daily candle is labelled by its session's open: 09:30 New York in UTC.
    opens = (bars.index + pd.Timedelta(hours=9, minutes=30)).tz_localize("America/New_York").tz_convert("UTC")
    daily = bars.set_axis(opens.as_unit("ns").rename(None))
    pd.testing.assert_frame_equal(stored(symbol, "1d"), daily, check_exact=True, check_dtype=False)
    # Weeks and months are labelled by the open of their first session on the NYSE calendar,
    # whether or not the file starts there (this one starts on a Friday).
    sessions = xcals.get_calendar("XNYS", start="2013-01-01", end="2018-12-31").schedule["open"]
    for interval, key in (("1w", lambda d: "%04d-W%02d" % tuple(d.isocalendar())[:2]),
                         ("1M", lambda d: f"{d.year:04d}-{d.month:02d}")):
        first_open = sessions.groupby([key(d) for d in sessions.index]).min()
        grouped = bars.groupby([key(d) for d in bars.index], sort=True)
        expected = grouped.agg(AGG).set_axis(pd.DatetimeIndex([first_open[k] for k, _ in grouped]).as_unit("ns"))
        pd.testing.assert_frame_equal(stored(symbol, interval), expected, check_exact=True,
                                      check_dtype=False, check_names=False, obj=f"{symbol} {interval}")


def test_reimporting_the_same_file_changes_nothing():
    path = require(DAILY_DIR / "AMD_data.csv")
    first = import_bars(path)
    before = list(Candle.objects.order_by("id").values_list())
    second = import_bars(path)
    assert "0 candles inserted or changed" in second and "0 candles inserted" not in first
    assert list(Candle.objects.order_by("id").values_list()) == before


def test_unknown_symbols_are_added_as_imported_and_known_ones_kept(make_stock):
    make_stock("AMD", name="Advanced Micro Devices")
    import_bars(require(DAILY_DIR / "AMD_data.csv"), require(DAILY_DIR / "ABBV_data.csv"))
    amd, abbv = Stock.objects.get(symbol="AMD"), Stock.objects.get(symbol="ABBV")
    assert (amd.is_imported, amd.name) == (False, "Advanced Micro Devices")
    assert abbv.is_imported and abbv.is_active
    assert str(abbv.reference_price) == "113.6200"  # the last close of the file (2018-02-07)


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_label_start_and_symbol_override_and_any_row_order(tmp_path):
    path = write(tmp_path, "whatever.csv", "datetime,open,high,low,close,volume\n"
                 "2019-02-13 10:05:00,2,3,1,2.5,20\n2019-02-13 10:00:00,1,2,1,1.5,10\n")
    import_bars(path, "--label", "start", "--symbol", "zzz")
    candles = Candle.objects.filter(stock__symbol="ZZZ", interval="5m").order_by("start")
    # 10:00 New York in February is 15:00 UTC; inferred 5-minute bars.
    assert [c.start.strftime("%H:%M") for c in candles] == ["15:00", "15:05"]
    assert not Candle.objects.filter(interval="1m").exists()
    assert Candle.objects.get(interval="1d").volume == 30


@pytest.mark.parametrize("content, message", [
    ("when,open,high,low,close,volume\n2019-02-13,1,2,1,1,1\n", "missing a datetime or date column"),
    ("date,open,high,low,close\n2019-02-13,1,2,1,1\n", "missing volume"),
    ("date,open,high,low,close,volume\n2019-02-13,1,x,1,1,1\n", "line 2: not a valid bar"),
    ("date,open,high,low,close,volume\n2019-02-13,1,1,2,1,1\n", "line 2: impossible prices"),
    ("date,open,high,low,close,volume\n2019-13-13,1,2,1,1,1\n", "line 2: not a date"),
    ("datetime,open,high,low,close,volume\n2019-02-13 10:00:00,1,2,1,1,1\n2019-02-13 10:07:00,1,2,1,1,1\n",
     "not one of 1m, 5m, 15m, 1h"),
    ("datetime,open,high,low,close,volume\n2019-02-13 10:00:00,1,2,1,1,1\n", "one bar is not enough"),
    ("date,open,high,low,close,volume\n", "no bars in the file"),
])
def test_bad_files_give_clear_errors(tmp_path, content, message):
    path = write(tmp_path, "BAD_data.csv", content)
    with pytest.raises(CommandError, match=message):
        import_bars(path)
    assert not Candle.objects.exists()


def test_bad_arguments_give_clear_errors(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        import_bars(tmp_path / "missing.csv")
    path = write(tmp_path, "X_data.csv", "date,open,high,low,close,volume\n2019-02-13,1,2,1,1,1\n")
    with pytest.raises(CommandError, match="unknown time zone"):
        import_bars(path, "--tz", "Mars/Olympus_Mons")
    with pytest.raises(CommandError, match="daily bars"):
        import_bars(path, "--interval", "1m")
    with pytest.raises(CommandError, match="--symbol applies to one file"):
        import_bars(path, path, "--symbol", "X")
