"""Technical indicators on a series of closes, with TA-Lib's conventions.

Every function takes the closes oldest first and returns lists of the same length, ``None``
where the indicator is not defined yet (its "lookback"):

- SMA(n): first value at index n-1.
- EMA(n): k = 2/(n+1), seeded with the SMA of the first n closes (first value at index n-1).
- RSI(n), Wilder: average gain and loss seeded with the simple averages of the first n changes
  (first value at index n), then smoothed as avg = (avg*(n-1) + x)/n; 0 when nothing moved.
- MACD(fast, slow, signal): both EMAs are seeded so that they start together at index slow-1
  (the fast EMA is seeded on the fast-period closes ending there, as TA-Lib does); the signal is
  the EMA of the MACD line; first value at index slow+signal-2 (33 for 12, 26, 9).
- Bollinger Bands(n, k): middle SMA(n), bands at k population standard deviations.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

Series = list[float | None]


def _check_period(period: int, minimum: int = 1) -> None:
    if not isinstance(period, int) or period < minimum:
        raise ValueError(f"period must be an integer of at least {minimum}")


def sma(closes: Sequence[float], period: int) -> Series:
    _check_period(period)
    out: Series = [None] * len(closes)
    running = 0.0
    for i, value in enumerate(closes):
        running += value
        if i >= period:
            running -= closes[i - period]
        if i >= period - 1:
            # Re-summing now and then keeps the running sum from drifting over long series.
            if i % 1024 == 0:
                running = math.fsum(closes[i - period + 1:i + 1])
            out[i] = running / period
    return out


def _ema_from(closes: Sequence[float], period: int, seed_end: int) -> Series:
    """EMA seeded with the SMA of the ``period`` closes ending at index ``seed_end``."""
    out: Series = [None] * len(closes)
    if seed_end >= len(closes) or seed_end - period + 1 < 0:
        return out
    k = 2.0 / (period + 1)
    value = math.fsum(closes[seed_end - period + 1:seed_end + 1]) / period
    out[seed_end] = value
    for i in range(seed_end + 1, len(closes)):
        value = (closes[i] - value) * k + value
        out[i] = value
    return out


def ema(closes: Sequence[float], period: int) -> Series:
    _check_period(period)
    return _ema_from(closes, period, period - 1)


def rsi(closes: Sequence[float], period: int = 14) -> Series:
    _check_period(period)
    out: Series = [None] * len(closes)
    if len(closes) <= period:
        return out
    gains = losses = 0.0
    for i in range(1, period + 1):
        change = closes[i] - closes[i - 1]
        gains += max(change, 0.0)
        losses += max(-change, 0.0)
    avg_gain, avg_loss = gains / period, losses / period
    out[period] = _rsi_value(avg_gain, avg_loss)
    for i in range(period + 1, len(closes)):
        change = closes[i] - closes[i - 1]
        avg_gain = (avg_gain * (period - 1) + max(change, 0.0)) / period
        avg_loss = (avg_loss * (period - 1) + max(-change, 0.0)) / period
        out[i] = _rsi_value(avg_gain, avg_loss)
    return out


def _rsi_value(avg_gain: float, avg_loss: float) -> float:
    total = avg_gain + avg_loss
    # min(): 100 * g / g can round to 100.00000000000001 in floating point.
    return min(100.0, 100.0 * avg_gain / total) if total > 0 else 0.0


def macd(closes: Sequence[float], fast: int = 12, slow: int = 26, signal: int = 9) -> tuple[Series, Series, Series]:
    """(MACD line, signal line, histogram)."""
    _check_period(fast)
    _check_period(signal)
    _check_period(slow, 2)
    if fast > slow:
        fast, slow = slow, fast  # TA-Lib swaps them too
    start = slow - 1
    slow_ema = _ema_from(closes, slow, start)
    fast_ema = _ema_from(closes, fast, start)
    n = len(closes)
    line_full: Series = [None] * n
    for i in range(start, n):
        line_full[i] = fast_ema[i] - slow_ema[i]
    line_values = [v for v in line_full[start:]]
    signal_tail = _ema_from(line_values, signal, signal - 1) if line_values else []
    first = start + signal - 1
    line: Series = [None] * n
    sig: Series = [None] * n
    hist: Series = [None] * n
    for i in range(first, n):
        line[i] = line_full[i]
        sig[i] = signal_tail[i - start]
        hist[i] = line[i] - sig[i]
    return line, sig, hist


def bbands(closes: Sequence[float], period: int = 20, k: float = 2.0) -> tuple[Series, Series, Series]:
    """(upper, middle, lower); population standard deviation over the window."""
    _check_period(period)
    if not (0 < k < math.inf):
        raise ValueError("k must be a positive number")
    middle = sma(closes, period)
    upper: Series = [None] * len(closes)
    lower: Series = [None] * len(closes)
    for i in range(period - 1, len(closes)):
        mean = middle[i]
        window = closes[i - period + 1:i + 1]
        std = math.sqrt(math.fsum((x - mean) ** 2 for x in window) / period)
        upper[i], lower[i] = mean + k * std, mean - k * std
    return upper, middle, lower
