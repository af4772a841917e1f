"""What the pricing model knows about each stock before a race: its volatility over the race's
duration and how it moves with the others, estimated from its recent candles.

Pure functions of candle arrays (no database): bet publication feeds them the candles it reads
from PostgreSQL (apps.bets.pricing_inputs), the economy backtest the bars it reads from files, so both
price with the same code. The constants below were fitted on the tuning symbols of the shared
data (docs/ECONOMY.md, "Calibration"; the held-out symbols were never used).

- **Intraday races** (5m, 15m, 1h): the variance of 5-minute log returns over the last
  ``INTRADAY_LOOKBACK`` minutes of one-minute candles, from their mean absolute size (robust to
  a single jump), each divided by the regular session's typical intraday profile (busy at the
  open and the close, quiet at midday) when the prices are real, then multiplied back by the
  profile over the race's own minutes, and by a per-duration scale (fitted).
- **Full-day races**: the variance of open-to-close log returns over the last
  ``DAILY_LOOKBACK`` sessions.
- **Correlation**: one common factor; each stock's loading on it from a one-factor fit of the
  correlations of the race's stocks' recent returns (5-minute returns intraday, open-to-close
  daily), shrunk towards the measured typical correlation.
- With too little history a stock's variance is shrunk towards the measured typical spread of its
  duration (``TYPICAL_SIGMA_PCT``); with none, that spread is used.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from apps.market.sessions import session_table

# The shared symbols held out of every fit below (docs/ECONOMY.md): the constants were fitted on the
# others, and the tests check calibration and the house edge on these.
HELD_OUT_INTRADAY = frozenset({"BK", "DFS", "SBUX", "TSLA"})
HELD_OUT_DAILY = frozenset({  # every fourth of the 120, alphabetically
    "ACN", "AMD", "APD", "BAC", "BRK.B", "CHTR", "COST", "CVS", "DE", "EOG", "FB", "GE", "GS", "IBM", "JPM",
    "LLY", "MCD", "MMM", "MS", "NEM", "NVDA", "PEP", "PM", "PX", "SBUX", "SO", "TJX", "UNP", "VLO", "XOM"
})

# Measured on the shared bars (sd of the % change open → close; docs/ECONOMY.md). The old model
# used 0.25, 0.45, 0.9 and 2.0.
TYPICAL_SIGMA_PCT = {"5m": 0.13, "15m": 0.22, "1h": 0.39, "1d": 1.23}
DURATION_MINUTES = {"5m": 5, "15m": 15, "1h": 60}
INTRADAY = tuple(DURATION_MINUTES)

INTRADAY_LOOKBACK = 390  # minutes of one-minute candles (a session's worth)
INTRADAY_BLOCK = 5  # minutes per return of the intraday estimator
DAILY_LOOKBACK = 60  # sessions
# Returns worth of the typical spread mixed into a short history (a stock with 3 returns is
# mostly typical, one with 78 mostly itself).
PRIOR_RETURNS_INTRADAY = 5
PRIOR_RETURNS_DAILY = 5
# The per-duration correction of the scaled one-minute variance (fitted: realised spread over
# the race ÷ the estimate). Below one: one-minute returns bounce between bid and ask.
SCALE = {"5m": 0.98, "15m": 0.92, "1h": 0.93, "1d": 1.02}

# The regular session's intraday variance profile, relative to its session mean, by minute of
# the session: a + b·e^(−m/τ1) + b2·e^(−m/τ2) + c·e^(−(L−1−m)/τ3), m in minutes from the open
# and L the session's length (fitted on the tuning symbols' one-minute bars: the open is about
# twenty times as busy as midday, the close about twice).
PROFILE = (0.19, 3.18, 78.0, 6.02, 6.0, 0.69, 39.0)  # a, b, τ1, b2, τ2, c, τ3

# Correlation of the race's stocks: measured mean, and how many observations the sample mean is worth
# against it.
RHO_TYPICAL = {"intraday": 0.35, "1d": 0.29}
RHO_PRIOR_OBS = 10
LOADING_MAX = 0.98  # every stock keeps some movement of its own
CORR_INTRADAY_STEP = 5  # minutes per return when measuring intraday correlation
CORR_INTRADAY_LOOKBACK = 3 * 390  # minutes: three sessions (about 230 returns)


def duration_class(duration: str) -> str:
    return "1d" if duration == "1d" else "intraday"


def profile_weight(minute: int, session_minutes: int = 390) -> float:
    """Typical variance of minute ``minute`` of a regular session, relative to the session's mean."""
    a, b, tau1, b2, tau2, c, tau3 = PROFILE
    last = session_minutes - 1
    return a + b * math.exp(-minute / tau1) + b2 * math.exp(-minute / tau2) + c * math.exp(-(last - minute) / tau3)


def session_minute(ts: int) -> tuple[int, int] | None:
    """(minute of the regular session, session length in minutes) of the minute starting at ``ts``."""
    table = session_table()
    i = table.index_of(ts)
    if i is None:
        return None
    return (ts - table.opens[i]) // 60, (table.closes[i] - table.opens[i]) // 60


def _weight(ts: int, seasonal: bool) -> float:
    return float(weights(np.array([ts]), seasonal)[0])


def weights(starts: np.ndarray, seasonal: bool) -> np.ndarray:
    """The profile weight of every minute in ``starts`` (1.0 outside a regular session, or when the
    prices are not real: the simulator has its own rhythm, which its recent candles show)."""
    out = np.ones(len(starts))
    if not seasonal or len(starts) == 0:
        return out
    table = _session_arrays()
    i = np.searchsorted(table[0], starts, side="right") - 1
    valid = (i >= 0) & (starts < table[1][np.clip(i, 0, None)])
    minute = (starts - table[0][np.clip(i, 0, None)]) // 60
    length = (table[1][np.clip(i, 0, None)] - table[0][np.clip(i, 0, None)]) // 60
    a, b, tau1, b2, tau2, c, tau3 = PROFILE
    value = a + b * np.exp(-minute / tau1) + b2 * np.exp(-minute / tau2) + c * np.exp(-(length - 1 - minute) / tau3)
    return np.where(valid, value, 1.0)


@functools.cache
def _session_arrays() -> tuple[np.ndarray, np.ndarray]:
    table = session_table()
    return np.array(table.opens, dtype=np.int64), np.array(table.closes, dtype=np.int64)


def window_weight(start_ts: int, end_ts: int, seasonal: bool) -> float:
    """The profile summed over the race's minutes (its length in minutes without the profile)."""
    minutes = max(1, round((end_ts - start_ts) / 60))
    if not seasonal:
        return float(minutes)
    return float(weights(start_ts + 60 * np.arange(minutes, dtype=np.int64), True).sum())


@dataclass(frozen=True)
class Minutes:
    """One-minute candles of one stock, oldest first: bucket starts (epoch s), opens, closes."""

    starts: np.ndarray
    opens: np.ndarray
    closes: np.ndarray


@dataclass(frozen=True)
class Days:
    """Daily candles of one stock, oldest first: session opens (epoch s), opens, closes."""

    starts: np.ndarray
    opens: np.ndarray
    closes: np.ndarray


def minute_returns(m: Minutes) -> np.ndarray:
    """Log returns, one per candle: from the previous close when it is the previous minute,
    else from the candle's own open (the first minute of a session, or after a gap)."""
    if len(m.starts) == 0:
        return np.zeros(0)
    prev = np.concatenate(([np.nan], m.closes[:-1]))
    contiguous = np.concatenate(([False], np.diff(m.starts) == 60))
    base = np.where(contiguous, prev, m.opens)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.log(m.closes / base)
    return np.where(np.isfinite(r), r, 0.0)


def intraday_variance(m: Minutes, seasonal: bool) -> tuple[float | None, int]:
    """(variance of a one-minute log return at profile weight 1, number of returns used).

    From the returns of consecutive blocks of INTRADAY_BLOCK minutes (first open to last close,
    never across a gap or a night) over the last INTRADAY_LOOKBACK minutes, each divided by its
    block's profile weight: one-minute returns bounce between bid and ask, and that bounce is a
    larger share of a calm index fund's moves than of a volatile stock's.
    """
    if len(m.starts) == 0:
        return None, 0
    lo = int(np.searchsorted(m.starts, int(m.starts[-1]) - 60 * (INTRADAY_LOOKBACK - 1), side="left"))
    starts, opens, closes = m.starts[lo:], m.opens[lo:], m.closes[lo:]
    k = INTRADAY_BLOCK
    # Blocks counted back from the latest minute; a block must be k consecutive minutes.
    ends = np.arange(len(starts) - 1, k - 2, -k)
    if len(ends) == 0:
        return None, 0
    begins = ends - (k - 1)
    whole = (starts[ends] - starts[begins]) == 60 * (k - 1)
    cumulative = np.concatenate(([0.0], np.cumsum(weights(starts, seasonal))))
    block_weight = cumulative[ends + 1] - cumulative[begins]
    ok = whole & (opens[begins] > 0) & (closes[ends] > 0) & (block_weight > 0)
    if not ok.any():
        return None, 0
    scaled = np.abs(np.log(closes[ends][ok] / opens[begins][ok])) / np.sqrt(block_weight[ok])
    return (float(scaled.mean()) * math.sqrt(math.pi / 2)) ** 2, int(ok.sum())


def daily_variance(d: Days) -> tuple[float | None, int]:
    if len(d.starts) == 0:
        return None, 0
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.log(d.closes[-DAILY_LOOKBACK:] / d.opens[-DAILY_LOOKBACK:])
    r = r[np.isfinite(r)]
    if len(r) == 0:
        return None, 0
    return float(np.mean(r ** 2)), len(r)


def race_sigma_pct(*, duration: str, start_ts: int, end_ts: int, minutes: Minutes | None, days: Days | None,
                   seasonal: bool) -> float:
    """The model's standard deviation of the stock's % change over the race (before the shape mixture)."""
    typical = TYPICAL_SIGMA_PCT[duration]
    if duration == "1d":
        var, n = daily_variance(days) if days is not None else (None, 0)
        prior_n = PRIOR_RETURNS_DAILY
        estimate = None if var is None else math.sqrt(var) * 100 * SCALE["1d"]
    else:
        var, n = intraday_variance(minutes, seasonal) if minutes is not None else (None, 0)
        prior_n = PRIOR_RETURNS_INTRADAY
        estimate = None if var is None else math.sqrt(var * window_weight(start_ts, end_ts, seasonal)) * 100 * SCALE[duration]
    if estimate is None or not math.isfinite(estimate) or n == 0:
        return typical
    # Shrink a short history towards the typical spread (on the variance scale).
    return math.sqrt((n * estimate ** 2 + prior_n * typical ** 2) / (n + prior_n))


def _grid_returns(duration: str, series: list) -> tuple[np.ndarray, np.ndarray] | None:
    """Recent returns of several stocks on a common grid: (matrix rows=observations, present mask).

    Intraday: 5-minute returns over the last CORR_INTRADAY_LOOKBACK minutes (never across a night
    or a gap); daily: open-to-close returns of the last DAILY_LOOKBACK sessions. A stock missing
    from most of the grid is left out (mask False)."""
    if duration_class(duration) == "1d":
        known = [d for d in series if d is not None and len(d.starts)]
        if not known:
            return None
        keys = sorted({int(t) for d in known for t in d.starts[-DAILY_LOOKBACK:]})[-DAILY_LOOKBACK:]
        column = {t: i for i, t in enumerate(keys)}
        matrix = np.full((len(keys), len(series)), np.nan)
        for k, d in enumerate(series):
            if d is None:
                continue
            for t, o, c in zip(d.starts[-DAILY_LOOKBACK:], d.opens[-DAILY_LOOKBACK:], d.closes[-DAILY_LOOKBACK:]):
                if int(t) in column and o > 0 and c > 0:
                    matrix[column[int(t)], k] = math.log(c / o)
    else:
        known = [m for m in series if m is not None and len(m.starts)]
        if not known:
            return None
        last = max(int(m.starts[-1]) for m in known)
        step = 60 * CORR_INTRADAY_STEP
        first = last - 60 * CORR_INTRADAY_LOOKBACK
        recent = [m.starts[int(np.searchsorted(m.starts, first, side="left")):] for m in known]
        grid = np.unique(np.concatenate(recent))
        grid = grid[(last - grid) % step == 0]
        if len(grid) < 6:
            return None
        prices = np.full((len(grid), len(series)), np.nan)
        for k, m in enumerate(series):
            if m is None or len(m.starts) == 0:
                continue
            at = np.searchsorted(m.starts, grid)
            hit = at < len(m.starts)
            hit[hit] = m.starts[at[hit]] == grid[hit]
            prices[hit, k] = m.closes[at[hit]]
        with np.errstate(invalid="ignore", divide="ignore"):
            matrix = np.diff(np.log(prices), axis=0)
        matrix[np.diff(grid) != step] = np.nan
    present = np.mean(np.isfinite(matrix), axis=0) >= 0.6
    return matrix, present


def race_loadings(*, duration: str, stocks: list, market: list | None = None) -> list[float]:
    """Each stock's loading a_i on the market factor (stocks i and j then correlate a_i·a_j).

    The factor is proxied by the equal-weighted return of a basket (``market``, other stocks, and the
    race's own): a_i = corr(r_i, r_M−i) / κ, with r_M−i the basket's average without stock i, and κ
    (the proxy's own correlation with the factor) chosen so that the implied pairwise correlations
    of the basket match their measured mean. Each
    a_i² is shrunk towards the typical correlation. An index fund moves with the market (a near 1),
    a stock with news of its own much less.
    """
    n = len(stocks)
    prior = RHO_TYPICAL[duration_class(duration)]
    fallback = [math.sqrt(prior)] * n
    basket = list(stocks) + [m for m in (market or []) if all(m is not s for s in stocks)]
    found = _grid_returns(duration, basket)
    if found is None:
        return fallback
    matrix, present = found
    cols = [k for k in range(len(basket)) if present[k]]
    if len(cols) < 3:
        return fallback
    sub = matrix[:, cols]
    rows = np.all(np.isfinite(sub), axis=1)
    sub = sub[rows]
    if len(sub) < 5:
        return fallback
    sd = sub.std(axis=0)
    keep = sd > 0
    sub, cols = sub[:, keep], [c for c, k in zip(cols, keep) if k]
    if len(cols) < 3:
        return fallback
    total = sub.sum(axis=1)
    k = len(cols)
    # Each stock against the average of the others (its own moves would inflate the correlation).
    others = (total[:, None] - sub) / (k - 1)
    a0, b0 = sub - sub.mean(axis=0), others - others.mean(axis=0)
    with_proxy = (a0 * b0).sum(axis=0) / np.sqrt((a0 * a0).sum(axis=0) * (b0 * b0).sum(axis=0))
    pair = np.corrcoef(sub, rowvar=False)
    off = ~np.eye(k, dtype=bool)
    implied = np.outer(with_proxy, with_proxy)[off].mean()
    measured = pair[off].mean()
    if not (measured > 0 and implied > 0):
        return fallback
    kappa = math.sqrt(min(1.0, implied / measured))
    weight = len(sub) / (len(sub) + RHO_PRIOR_OBS)
    out = []
    for i in range(n):
        if i in cols:
            a = min(LOADING_MAX, max(0.0, with_proxy[cols.index(i)] / kappa))
            out.append(math.sqrt(weight * a * a + (1 - weight) * prior))
        else:
            out.append(math.sqrt(prior))
    return out


def tick_pct(history: Minutes | Days | None) -> float | None:
    """One cent as a % of the stock's latest price: the step of its % changes (None when unknown)."""
    if history is None or len(history.closes) == 0 or not history.closes[-1] > 0:
        return None
    return 1.0 / float(history.closes[-1])


def momentum_pct(*, duration: str, minutes: Minutes | None, days: Days | None) -> float | None:
    """The stock's recent % change over one race length (shown to players; the model gives it no
    weight: docs/ECONOMY.md, "Momentum")."""
    if duration == "1d":
        if days is None or len(days.starts) == 0:
            return None
        return (float(days.closes[-1]) / float(days.opens[-1]) - 1) * 100
    if minutes is None or len(minutes.starts) == 0:
        return None
    k = DURATION_MINUTES[duration]
    first = float(minutes.opens[max(0, len(minutes.starts) - k)])
    return (float(minutes.closes[-1]) / first - 1) * 100 if first > 0 else None
