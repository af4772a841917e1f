"""The race's one pricing model, and the quote of any bet on it (docs/ECONOMY.md).

**The model.** Over the race, the % changes of its n stocks move jointly as

    X_i = σ_i · V · (a_i · Z + √(1 − a_i²) · ε_i)        (Z, ε_i independent standard normals)

with σ_i each stock's volatility over the race's duration (apps.bets.pricing_estimate: from its
recent candles), a_i its loading on the race's common factor (the correlation of stocks i and j is
a_i·a_j, measured from their recent returns and shrunk to the typical value), and V a common
scale drawn from a small mixture that gives the marginals the fat tails and sharp centre real
%-changes have. The drift is zero: recent momentum did not predict the finishing order in the
data (docs/ECONOMY.md, "Momentum"). V scales every stock alike, so it never changes the order:

- **winner**: P(stock i finishes first), a two-dimensional Gauss–Hermite integral over (Z, ε_i)
  of Π_{j≠i} Φ(...) (closed form up to quadrature), full-day chances tempered as fitted
  (``calibrated``);
- **bracket**: P(low ≤ X_i ≤ high) from the mixture's normal CDFs, exact, with most of the mass on
  the one-cent grid prices move on (``bracket_probability``);
- **podium**: the expected accuracy (apps.races.scoring.accuracy: exact order and partial
  credit) of every pick, from a Monte Carlo simulation of the top three with a per-race seed, so
  the same race always gets the same prices.

**The card.** Everything a quote needs is computed once, when betting opens, into a small JSON
card (probabilities, volatilities, podium expectations) that the bet path keeps in Redis
(apps.bets.odds_cache) and PostgreSQL (bets.RacePricing). A quote reads the card: O(1) in pure
Python (a few ``math.erf`` for a bracket, one list index for a podium).

**The odds.** For a bet whose expected accuracy under the model is E (the chance of a winner or
bracket bet; exact order plus partial credit for a podium):

    odds = (1 − margin) · (1 − MODEL_RESERVE[kind]) / (E · TIMING_MAX · PARTICIPANTS_MAX · STREAK_MAX[kind])

rounded down to the cent: the same for every player and every moment, published once. The
factors the brief asks for (earlier bets, larger races, streaks pay a little more) multiply the
payout at settlement, and the odds already pay for their largest values: whatever the timing,
the field and the streak, the model's expected payout of every bet is at most
(1 − margin) × stake (less the reserve against the model's own error), and ``potential_payout`` (stake × odds × the bet's own early-bet factor ×
the largest participants and streak factors) is a true maximum.
"""
from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

import numpy as np

from apps.bets import pricing_estimate as est
from apps.races import scoring

CARD_VERSION = 2
ODDS_QUANTUM = Decimal("0.01")
MIN_ODDS = Decimal("1.01")  # below this a bet would pay back little more than its stake: refused
MAX_ODDS = {"winner": Decimal("50"), "bracket": Decimal("100"), "podium": Decimal("500")}

# The common scale V of each duration: (weight, scale) pairs with Σ w·s² = 1, fitted by EM on the
# tuning symbols' standardised % changes (docs/ECONOMY.md, "Calibration"): about 40 % of races
# are calm (two thirds of the typical spread), a few per cent wild (two to three times it).
MIXTURE = {
    "5m": ((0.406, 0.650), (0.560, 1.059), (0.034, 2.438)),
    "15m": ((0.379, 0.670), (0.578, 1.032), (0.043, 2.239)),
    "1h": ((0.569, 0.678), (0.408, 1.074), (0.023, 3.422)),
    "1d": ((0.400, 0.616), (0.544, 1.046), (0.056, 2.127)),
}
QUADRATURE_NODES = 40
PODIUM_PATHS = 10_000
SEED_SALT = 0x5EED_0011
# A reserve on top of the margin against the model's own error: measured on the shared data, the
# model's chances are off by a few per cent for some stocks (an index fund's calm centre, a trending
# stock's week), and five trading days of one-minute bars cannot pin them down closer
# (docs/ECONOMY.md, "The margin argument").
MODEL_RESERVE = {"winner": 0.07, "bracket": 0.08, "podium": 0.03}
# The power applied to the winner chances (see ``calibrated``), fitted by likelihood on the tuning symbols.
ORDER_CALIBRATION = {"intraday": 1.0, "1d": 0.8}
# A bracket is at least this many of the stock's σ wide: narrower is a lottery on the last cent.
BRACKET_MIN_WIDTH_SIGMAS = 0.5
# Share of % changes on the one-cent grid (the rest: sub-penny trades), fitted on the tuning symbols.
GRID_SHARE = 0.75
PCT_ROUNDING = 0.00005  # pct_change is kept to 4 decimals
MARKET_BASKET = 30  # other stocks whose average return proxies the market factor
# Bracket bounds a player may choose, as multiples of the stock's σ over the race, within the
# absolute limits of a % change.
BRACKET_RANGE_SIGMAS = 8
BRACKET_RANGE_MIN_PCT = 0.5
BRACKET_LIMIT_PCT = 50.0
BRACKET_MIN_WIDTH_PCT = Decimal("0.05")


def _normalised(mix) -> tuple[tuple[float, float], ...]:
    total = sum(w * s * s for w, s in mix)
    weights = sum(w for w, _ in mix)
    return tuple((w / weights, s / math.sqrt(total / weights)) for w, s in mix)


MIXTURE = {k: _normalised(v) for k, v in MIXTURE.items()}


# --------------------------------------------------------------------------- the normal CDF


def phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _phi_array(x: np.ndarray) -> np.ndarray:
    """Φ for arrays without scipy: erfc by its Chebyshev fit (relative error < 1.2e-7)."""
    z = np.abs(x) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))
    erfc = t * np.exp(poly)
    return np.where(x >= 0, 1.0 - 0.5 * erfc, 0.5 * erfc)


# --------------------------------------------------------------------------- the model


def calibrated(probabilities: list[float], duration: str) -> list[float]:
    """The model's winner chances after the calibration fitted on the tuning symbols: p^γ, renormalised.

    Over full days the factor model's chances spread a little too far (a calm stock's low chance is
    too low, the favourite's too high): γ = 0.8 maximised the likelihood of the actual winners there,
    and did the same on the held-out symbols. Intraday γ = 1 fitted best (docs/ECONOMY.md).
    """
    gamma = ORDER_CALIBRATION[est.duration_class(duration)]
    if gamma == 1.0:
        return probabilities
    powered = [p ** gamma for p in probabilities]
    total = sum(powered)
    return [p / total for p in powered]


def winner_probabilities(sigma: list[float], loading: list[float]) -> list[float]:
    """P(each stock finishes first) under the Gaussian factor model (V does not change the order)."""
    n = len(sigma)
    s = np.asarray(sigma, dtype=float)
    a = np.asarray(loading, dtype=float)
    b = np.sqrt(1.0 - a * a)
    x, w = np.polynomial.hermite_e.hermegauss(QUADRATURE_NODES)
    w = w / w.sum()
    z = x[:, None]  # common factor nodes
    e = x[None, :]  # own-noise nodes
    weight = w[:, None] * w[None, :]
    probs = []
    for i in range(n):
        xi = s[i] * (a[i] * z + b[i] * e)  # (nodes, nodes)
        j = np.array([k for k in range(n) if k != i])
        # P(X_j < X_i | Z, ε_i) for every other stock at once: (others, nodes, nodes)
        below = _phi_array((xi[None] - (s[j] * a[j])[:, None, None] * z[None]) / (s[j] * b[j])[:, None, None])
        probs.append(float((below.prod(axis=0) * weight).sum()))
    total = sum(probs)
    return [p / total for p in probs]


@functools.cache
def podium_picks(n: int) -> tuple[tuple[int, int, int], ...]:
    """Every podium pick of an n-stock race, as lane indexes (the card's order)."""
    return tuple(itertools.permutations(range(n), 3))


@functools.cache
def _pick_index(n: int) -> dict[tuple[int, int, int], int]:
    return {p: i for i, p in enumerate(podium_picks(n))}


@functools.cache
def _accuracy_matrix(n: int) -> np.ndarray:
    """accuracy[pick, top3] by settlement's own scoring (apps.races.scoring.accuracy).

    Accuracy only depends on how a pick and a top three relate, not on the names: it is scored
    once against the pick (0, 1, 2), and every other pick reads that row with its stocks renamed.
    """
    picks = podium_picks(n)
    index = _pick_index(n)
    names = [f"s{i}" for i in range(n)]
    base = np.zeros(len(picks))
    first = scoring.BetInput(kind="podium", stake=1, odds=1.0, podium=(names[0], names[1], names[2]))
    for col, top in enumerate(picks):
        order = tuple(names[i] for i in top) + tuple(names[i] for i in range(n) if i not in top)
        base[col] = scoring.accuracy(first, scoring.RaceResult(pct={}, order=order, participants=1, window_seconds=0))
    matrix = np.zeros((len(picks), len(picks)))
    for row, pick in enumerate(picks):
        rename = {stock: k for k, stock in enumerate(pick)}
        for stock in range(n):
            rename.setdefault(stock, len(rename))
        for col, (a, b, c) in enumerate(picks):
            matrix[row, col] = base[index[(rename[a], rename[b], rename[c])]]
    return matrix


def simulate_top3(sigma: list[float], loading: list[float], seed: int, paths: int = PODIUM_PATHS) -> np.ndarray:
    """Frequency of each ordered top three (indexed like podium_picks) over seeded paths."""
    n = len(sigma)
    rng = np.random.default_rng([SEED_SALT, seed])
    z = rng.standard_normal((paths, 1), dtype=np.float32)
    e = rng.standard_normal((paths, n), dtype=np.float32)
    a = np.asarray(loading, dtype=np.float32)[None, :]
    x = np.asarray(sigma, dtype=np.float32)[None, :] * (a * z + np.sqrt(1.0 - a * a) * e)
    # The top three by three passes of argmax (the lower lane wins a tie, as in settlement; ties
    # have probability 0 here).
    rows = np.arange(paths)
    codes = np.zeros(paths, dtype=np.int64)
    for _ in range(3):
        best = np.argmax(x, axis=1)
        codes = codes * n + best
        x[rows, best] = -np.inf
    counts = np.bincount(codes, minlength=n ** 3)
    picks = podium_picks(n)
    return np.array([counts[a * n * n + b * n + c] for a, b, c in picks], dtype=float) / paths


def podium_expected_accuracy(sigma: list[float], loading: list[float], seed: int) -> list[float]:
    freq = simulate_top3(sigma, loading, seed)
    return (_accuracy_matrix(len(sigma)) @ freq).tolist()


def bracket_range(sigma_pct: float) -> float:
    """The largest |bound| a bracket on this stock may have, in %."""
    limit = max(BRACKET_RANGE_MIN_PCT, BRACKET_RANGE_SIGMAS * sigma_pct)
    return min(BRACKET_LIMIT_PCT, math.ceil(limit * 10) / 10)


def bracket_min_width(sigma_pct: float) -> float:
    """The narrowest bracket on this stock, in % points (at least BRACKET_MIN_WIDTH_PCT)."""
    return max(float(BRACKET_MIN_WIDTH_PCT), math.ceil(BRACKET_MIN_WIDTH_SIGMAS * sigma_pct * 1000) / 1000)


@dataclass(frozen=True)
class StockInput:
    symbol: str
    minutes: est.Minutes | None = None
    days: est.Days | None = None

    def history(self, duration: str):
        return self.days if duration == "1d" else self.minutes


def build_card(*, race_seed: int, duration: str, opens_ts: float, close_ts: float, start_ts: float, end_ts: float,
               stocks: list[StockInput], seasonal: bool, margin: float,
               market: list[StockInput] | None = None) -> dict:
    """The race's card: the model fitted to the stocks' history, every price a quote needs.

    ``stocks`` are in lane order; ``market`` is a basket of other stocks whose average proxies the
    market factor; ``close_ts`` is when betting closes; history must end before ``opens_ts`` (the
    instant the odds are published).
    """
    sigma = [est.race_sigma_pct(duration=duration, start_ts=int(start_ts), end_ts=int(end_ts), minutes=s.minutes,
                                days=s.days, seasonal=seasonal) for s in stocks]
    loading = est.race_loadings(duration=duration, stocks=[s.history(duration) for s in stocks],
                                market=[m.history(duration) for m in market or []])
    momentum = [est.momentum_pct(duration=duration, minutes=s.minutes, days=s.days) for s in stocks]
    tick = [est.tick_pct(s.history(duration)) for s in stocks]
    return card_from_parameters(race_seed=race_seed, duration=duration, opens_ts=opens_ts, close_ts=close_ts,
                                start_ts=start_ts, symbols=[s.symbol for s in stocks], sigma=sigma,
                                loading=loading, margin=margin, momentum=momentum, tick=tick)


def card_from_parameters(*, race_seed: int, duration: str, opens_ts: float, close_ts: float, start_ts: float,
                         symbols: list[str], sigma: list[float], loading: list[float], margin: float,
                         momentum: list[float | None] | None = None, tick: list[float | None] | None = None) -> dict:
    """The card of a model given its parameters (σ in % over the race, loadings), with the house
    margin its odds keep."""
    n = len(symbols)
    return {
        "v": CARD_VERSION,
        "duration": duration,
        "margin": float(margin),
        "seed": int(race_seed),  # of the podium simulation: the same race always gets the same paths
        "symbols": list(symbols),
        "opens": float(opens_ts),
        "close": float(close_ts),
        "starts": float(start_ts),
        "sigma": [round(s, 6) for s in sigma],
        "load": [round(a, 6) for a in loading],
        "mix": [list(c) for c in MIXTURE[duration]],
        "p": [round(p, 8) for p in calibrated(winner_probabilities(sigma, loading), duration)],
        "podium": [round(e, 8) for e in podium_expected_accuracy(sigma, loading, race_seed)] if n >= 3 else [],
        "range": [bracket_range(s) for s in sigma],
        "min_width": [bracket_min_width(s) for s in sigma],
        "momentum": [None if m is None else round(m, 4) for m in (momentum or [None] * n)],
        "tick": [None if t is None else round(t, 8) for t in (tick or [None] * n)],
    }


# --------------------------------------------------------------------------- quotes


def _mixture_cdf(mix, sigma: float, x: float) -> float:
    return sum(w * phi(x / (sigma * v)) for w, v in mix)


def bracket_probability(card: dict, lane: int, low: float, high: float) -> float:
    """P(low ≤ % change ≤ high) of the stock in ``lane`` under the card's model.

    Prices move in cents, so most % changes lie on a grid of one cent over the price (``tick``): a
    share GRID_SHARE of the mass sits on the grid (each grid point takes the continuous mass within
    half a step of it; the unchanged price, 0 %, is the one players notice), the rest (trades at
    sub-penny prices) stays continuous.
    """
    sigma = card["sigma"][lane]
    if sigma <= 0:
        return 1.0 if low <= 0.0 <= high else 0.0
    mix = card["mix"]
    continuous = _mixture_cdf(mix, sigma, high) - _mixture_cdf(mix, sigma, low)
    tick = (card.get("tick") or [None] * (lane + 1))[lane]
    if not tick:
        return min(1.0, max(0.0, continuous))
    # Grid points inside the bracket (a point within half of pct_change's last decimal counts as inside).
    first = math.ceil((low - PCT_ROUNDING) / tick)
    last = math.floor((high + PCT_ROUNDING) / tick)
    grid = 0.0 if first > last else (_mixture_cdf(mix, sigma, (last + 0.5) * tick)
                                     - _mixture_cdf(mix, sigma, (first - 0.5) * tick))
    return min(1.0, max(0.0, GRID_SHARE * grid + (1.0 - GRID_SHARE) * continuous))


@dataclass(frozen=True, slots=True)
class Quote:
    odds: Decimal  # what a fully correct bet pays per point, before the factors
    chance: float  # the model's chance that the bet is fully correct (for a podium: its expected accuracy)
    expected_accuracy: float  # the chance, plus the partial credit a podium may earn
    timing: float  # the bet's early-bet factor (scoring.timing_factor), stored on the bet

    def potential_payout(self, stake: int, kind: str) -> int:
        """The most the bet can pay: a fully correct pick in the largest field with the best streak,
        multiplied in settlement's order (apps.races.scoring.bet_score) so it is never exceeded."""
        total = float(stake) * float(self.odds)
        for factor in (1.0, self.timing, scoring.PARTICIPANTS_CAP, streak_cap(kind)):
            total *= factor
        return int(math.floor(total + scoring.FLOOR_EPSILON))


def streak_cap(kind: str) -> float:
    return scoring.STREAK_CAP if kind == "winner" else 1.0


def max_bonus(kind: str) -> float:
    """The largest product of the settlement factors a bet of this kind can earn."""
    return scoring.TIMING_MAX * scoring.PARTICIPANTS_CAP * streak_cap(kind)


def raw_odds(expected_accuracy: float, kind: str, margin: float) -> float:
    """Unrounded odds: (1 − margin)(1 − MODEL_RESERVE[kind]) / (E · the largest bonuses); inf when E is 0."""
    if expected_accuracy <= 0.0:
        return math.inf
    return (1.0 - margin) * (1.0 - MODEL_RESERVE[kind]) / (expected_accuracy * max_bonus(kind))


def round_odds(value: float, kind: str) -> Decimal:
    """Down to the cent (in the house's favour), at most MAX_ODDS[kind]."""
    cap = MAX_ODDS[kind]
    if not math.isfinite(value) or value >= float(cap):
        return cap
    # Rounded to 9 places first so that float noise (2.7999999…) does not cost a cent.
    return min(Decimal(repr(round(value, 9))).quantize(ODDS_QUANTUM, rounding=ROUND_DOWN), cap)


def expected_accuracy(card: dict, *, kind: str, lane: int | None = None, low: float | None = None,
                      high: float | None = None, podium: tuple[int, int, int] | None = None) -> float:
    if kind == "winner":
        return card["p"][lane]
    if kind == "bracket":
        return bracket_probability(card, lane, low, high)
    if kind == "podium":
        return card["podium"][_pick_index(len(card["symbols"]))[podium]]
    raise ValueError(f"unknown bet kind {kind!r}")


def timing_factor(card: dict, now_ts: float) -> float:
    """The early-bet factor of a bet placed at ``now_ts``: TIMING_MAX when betting opens, 1.0 when it closes."""
    return scoring.timing_factor(card["close"] - now_ts, card["close"] - card["opens"])


def quote(card: dict, *, kind: str, lane: int | None = None, low: float | None = None, high: float | None = None,
          podium: tuple[int, int, int] | None = None, now_ts: float, margin: float) -> Quote:
    """Price one bet from the race's card at Redis time ``now_ts`` (the refusal rules are the caller's)."""
    expected = expected_accuracy(card, kind=kind, lane=lane, low=low, high=high, podium=podium)
    odds = round_odds(raw_odds(expected, kind, margin), kind)
    return Quote(odds=odds, chance=expected, expected_accuracy=expected, timing=timing_factor(card, now_ts))


def winner_odds(card: dict, lane: int) -> Decimal:
    """The published odds of a winner bet on the stock in ``lane``: the same for every player, at any moment."""
    return round_odds(raw_odds(card["p"][lane], "winner", card["margin"]), "winner")


def max_chance(card: dict, kind: str, max_probability: float) -> float:
    """The largest chance a bet of ``kind`` may have under the rules: at most ``max_probability``
    (BET_MAX_WIN_PROBABILITY), and low enough that its odds still pay back more than the stake."""
    by_odds = (1.0 - card["margin"]) * (1.0 - MODEL_RESERVE[kind]) / (float(MIN_ODDS) * max_bonus(kind))
    return min(max_probability, by_odds)


def widest_bracket_around(card: dict, lane: int, max_chance: float, centre: float = 0.0) -> float:
    """The largest half-width w with P(centre − w ≤ X ≤ centre + w) ≤ max_chance, within the range
    (bisection; for hints and the backtest)."""
    limit = card["range"][lane]
    lo, hi = 0.0, limit
    if bracket_probability(card, lane, centre - hi, centre + hi) <= max_chance:
        return hi
    for _ in range(60):
        mid = (lo + hi) / 2
        if bracket_probability(card, lane, centre - mid, centre + mid) <= max_chance:
            lo = mid
        else:
            hi = mid
    return lo
