"""Odds: the base multiplier fixed on a bet when it is placed (Bet.odds).

potential_payout = floor(stake × odds) is shown at placement; settlement's scoring
(docs/SCORING.md) multiplies that base by its accuracy, participants, timing and streak factors.

- **winner**: from each stock's recent momentum (its % change over a recent window). The
  implied chance of winning is a softmax of the momenta, so a stock that has been falling (an
  underdog) gets a lower chance and pays more; the house keeps BET_HOUSE_MARGIN. With no data,
  every stock gets the same (even) odds. Winner odds are published once per race and never
  change (apps.bets.selectors.race_odds).
- **bracket**: the chance that the % change ends inside [low, high] under a normal model whose
  spread grows with the race's duration; a narrower bracket is less likely, so it pays more.
- **podium**: the exact top-3 order among n stocks, 1 / (n·(n−1)·(n−2)) by chance alone.

All functions here are pure: the momentum comes in as numbers.
"""
from __future__ import annotations

import math
from decimal import ROUND_DOWN, Decimal

from django.conf import settings

ODDS_QUANTUM = Decimal("0.01")
MIN_ODDS = Decimal("1.01")
MAX_WINNER_ODDS = Decimal("50")
MAX_BRACKET_ODDS = Decimal("100")
MAX_PODIUM_ODDS = Decimal("9999")  # far above 8 stocks' 336 orders; Bet.odds holds < 10^6

# How strongly momentum moves the winner chances: exp(0.5 · Δ%), so a stock up 2% is
# e ≈ 2.7 times likelier to win than one flat. Momenta beyond ±10% count as ±10%.
MOMENTUM_SENSITIVITY = 0.5
MOMENTUM_CLAMP_PCT = 10.0

# Typical absolute % move of one stock over each race duration (a standard deviation),
# the spread of the bracket model. Keys are apps.races.models.Race.Duration values.
BRACKET_SIGMA_PCT = {"5m": 0.25, "15m": 0.45, "1h": 0.9, "1d": 2.0}
DEFAULT_BRACKET_SIGMA_PCT = 1.0

# Bracket bounds a player may choose, in % change.
BRACKET_MIN_PCT = Decimal("-50")
BRACKET_MAX_PCT = Decimal("50")
BRACKET_MIN_WIDTH_PCT = Decimal("0.05")


def _margin() -> float:
    return float(settings.BET_HOUSE_MARGIN)


def _quantize(value: float, low: Decimal, high: Decimal) -> Decimal:
    """Round down to cents (in the house's favour) and keep within [low, high]."""
    # Rounded to 9 places first so that float noise (22.799999…) does not cost a cent.
    odds = Decimal(repr(round(value, 9))).quantize(ODDS_QUANTUM, rounding=ROUND_DOWN) if math.isfinite(value) else high
    return min(max(odds, low), high)


def winner_odds(momentum_pct: dict[str, float | None]) -> dict[str, Decimal]:
    """Winner odds per symbol from each symbol's recent % change (None: unknown, counts as flat).

    Lower momentum → lower implied chance → higher odds. Equal momenta give even odds,
    n × (1 − margin) each.
    """
    if not momentum_pct:
        return {}
    clamped = {s: max(-MOMENTUM_CLAMP_PCT, min(MOMENTUM_CLAMP_PCT, m or 0.0)) for s, m in momentum_pct.items()}
    weights = {s: math.exp(MOMENTUM_SENSITIVITY * m) for s, m in clamped.items()}
    total = sum(weights.values())
    keep = 1.0 - _margin()
    return {s: _quantize(keep * total / w, MIN_ODDS, MAX_WINNER_ODDS) for s, w in weights.items()}


def _normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def bracket_probability(low_pct: float, high_pct: float, duration: str) -> float:
    sigma = BRACKET_SIGMA_PCT.get(duration, DEFAULT_BRACKET_SIGMA_PCT)
    return max(0.0, _normal_cdf(high_pct / sigma) - _normal_cdf(low_pct / sigma))


def bracket_odds(low_pct: Decimal | float, high_pct: Decimal | float, duration: str) -> Decimal:
    """Odds of a bracket bet: (1 − margin) / P(low ≤ change ≤ high); a narrower bracket pays more."""
    p = bracket_probability(float(low_pct), float(high_pct), duration)
    if p <= 0.0:
        return MAX_BRACKET_ODDS
    return _quantize((1.0 - _margin()) / p, MIN_ODDS, MAX_BRACKET_ODDS)


def podium_odds(stock_count: int) -> Decimal:
    """Odds of an exact top-3 order among stock_count stocks (partial matches pay a share at settlement)."""
    orders = stock_count * (stock_count - 1) * (stock_count - 2)
    return _quantize((1.0 - _margin()) * max(orders, 1), MIN_ODDS, MAX_PODIUM_ODDS)


def potential_payout(stake: int, odds: Decimal) -> int:
    """The base payout shown at placement: floor(stake × odds)."""
    return int((Decimal(stake) * odds).to_integral_value(rounding=ROUND_DOWN))
