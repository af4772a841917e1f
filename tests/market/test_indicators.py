"""Indicators match TA-Lib's output on the StockCharts reference series, and keep their laws."""
from __future__ import annotations

import csv
import math

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from apps.market import indicators
from tests.market.conftest import INDICATORS_DIR, require


def reference(name: str) -> tuple[list[float], dict[str, list[float | None]]]:
    with require(INDICATORS_DIR / name).open() as handle:
        rows = list(csv.DictReader(handle))
    closes = [float(r["Close"]) for r in rows]
    columns = {c: [float(r[c]) if r[c] else None for r in rows] for c in rows[0] if c.startswith("talib_")}
    return closes, columns


def assert_matches(ours, theirs, tolerance=1e-6):
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if b is None:
            assert a is None, f"index {i}: expected no value, got {a}"
        else:
            assert a is not None and abs(a - b) <= tolerance, f"index {i}: {a} != {b}"


def test_rsi_matches_talib():
    closes, ref = reference("stockcharts_rsi_talib.csv")
    ours = indicators.rsi(closes, 14)
    assert_matches(ours, ref["talib_RSI_14"])
    assert ours.index(next(v for v in ours if v is not None)) == 14
    assert round(ours[14], 2) == 70.53  # StockCharts' published first value


def test_macd_matches_talib():
    closes, ref = reference("stockcharts_macd_talib.csv")
    line, signal, hist = indicators.macd(closes, 12, 26, 9)
    assert_matches(line, ref["talib_MACD"])
    assert_matches(signal, ref["talib_signal"])
    assert_matches(hist, ref["talib_hist"])
    assert line[32] is None and line[33] is not None


def test_bbands_match_talib():
    closes, ref = reference("stockcharts_bbands_talib.csv")
    upper, middle, lower = indicators.bbands(closes, 20, 2.0)
    assert_matches(upper, ref["talib_upper"])
    assert_matches(middle, ref["talib_middle"])
    assert_matches(lower, ref["talib_lower"])


def test_ema_is_seeded_with_the_sma_of_the_first_n():
    closes = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert indicators.ema(closes, 3) == [None, None, 2.0, 3.0, 4.0]
    assert indicators.sma(closes, 3) == [None, None, 2.0, 3.0, 4.0]


def test_rsi_of_a_flat_and_of_a_rising_series():
    assert indicators.rsi([5.0] * 20, 14)[14:] == [0.0] * 6
    assert indicators.rsi([float(i) for i in range(1, 21)], 14)[14:] == [100.0] * 6


def test_short_series_and_bad_periods():
    assert indicators.macd([1.0] * 30)[0] == [None] * 30
    assert indicators.rsi([1.0] * 14, 14) == [None] * 14
    with pytest.raises(ValueError):
        indicators.sma([1.0], 0)
    with pytest.raises(ValueError):
        indicators.bbands([1.0], 20, -1)


prices = st.lists(st.floats(min_value=0.01, max_value=10_000, allow_nan=False), min_size=1, max_size=120)
periods = st.integers(min_value=1, max_value=40)


@hsettings(max_examples=60, deadline=None)
@given(prices, periods)
def test_sma_is_the_window_mean(closes, period):
    out = indicators.sma(closes, period)
    for i, value in enumerate(out):
        if i < period - 1:
            assert value is None
        else:
            assert math.isclose(value, math.fsum(closes[i - period + 1:i + 1]) / period, rel_tol=1e-9)


@hsettings(max_examples=60, deadline=None)
@given(prices, periods)
def test_ema_stays_within_the_range_of_the_closes(closes, period):
    for value in indicators.ema(closes, period):
        assert value is None or min(closes) - 1e-9 <= value <= max(closes) + 1e-9


@hsettings(max_examples=60, deadline=None)
@given(prices, periods)
def test_rsi_is_between_0_and_100(closes, period):
    out = indicators.rsi(closes, period)
    assert all(v is None for v in out[:period])
    assert all(0.0 <= v <= 100.0 for v in out[period:])


@hsettings(max_examples=60, deadline=None)
@given(prices, periods, st.floats(min_value=0.5, max_value=4))
def test_bands_surround_the_middle_symmetrically(closes, period, k):
    upper, middle, lower = indicators.bbands(closes, period, k)
    for u, m, lo in zip(upper, middle, lower):
        if m is not None:
            assert lo <= m <= u
            assert math.isclose(u - m, m - lo, rel_tol=1e-9, abs_tol=1e-9)


@hsettings(max_examples=40, deadline=None)
@given(prices)
def test_macd_histogram_is_line_minus_signal(closes):
    line, signal, hist = indicators.macd(closes)
    for a, b, h in zip(line, signal, hist):
        assert (a is None) == (b is None) == (h is None)
        if h is not None:
            assert math.isclose(h, a - b, abs_tol=1e-12)
