"""The scoring algorithm (docs/SCORING.md): pure, deterministic functions of a bet and a race result.

This is the reference: the property tests call ``bet_score``. Settlement computes exactly the
same thing set-based in SQL (apps.races.settlement.SCORE_SQL: the same float8 operations in the
same order, the per-race factors computed here); a test checks the two agree bet for bet.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

# Accuracy of a podium pick that is not the exact order: per stock in its exact position,
# and per stock in the top three but in another position. The best partial (one exact, two
# swapped) scores 0.45, well below the exact order's 1.0.
PODIUM_EXACT_POSITION = 0.25
PODIUM_IN_TOP3 = 0.10
# The factors settlement multiplies a payout by. The odds already pay for their largest values
# (apps.bets.pricing), so they move money between players and never past the house's margin.
# Timing: up to TIMING_MAX for a bet when betting opens, 1.00 when it closes (fixed on the bet).
TIMING_EARLY_BONUS = 0.03
TIMING_MAX = 1.0 + TIMING_EARLY_BONUS
# Participants: 1 + PARTICIPANTS_STEP per doubling of the field, capped (reached at 32 players).
PARTICIPANTS_STEP = 0.015
PARTICIPANTS_CAP = 1.075
# Streak: +STREAK_STEP per earlier consecutive race with every winner pick right, up to STREAK_MAX_STEPS.
STREAK_STEP = 0.02
STREAK_MAX_STEPS = 5
STREAK_CAP = 1.0 + STREAK_STEP * STREAK_MAX_STEPS  # the same float operations as SCORE_SQL's
FLOOR_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class RaceResult:
    """What settlement knows about a finished race."""

    pct: dict[str, float]  # symbol -> % change open to close
    order: tuple[str, ...]  # symbols, winner first
    participants: int  # distinct players who bet
    window_seconds: float  # length of the betting window


@dataclass(frozen=True, slots=True)
class BetInput:
    kind: str  # winner | bracket | podium
    stake: int
    odds: float
    symbol: str = ""
    low_pct: float | None = None
    high_pct: float | None = None
    podium: tuple[str, ...] | None = None
    timing: float = 1.0  # the early-bet factor fixed on the bet when it was placed (timing_factor)
    streak: int = 0  # the player's streak before this race


def final_order(pct: dict[str, float], lanes: dict[str, int]) -> tuple[str, ...]:
    """Highest % change first; a tie goes to the lower lane (the order the race was listed in)."""
    return tuple(sorted(pct, key=lambda s: (-pct[s], lanes[s])))


def accuracy(bet: BetInput, result: RaceResult) -> float:
    """1.0 for a fully correct pick, a fraction for a partial podium, 0.0 for a miss."""
    if bet.kind == "winner":
        return 1.0 if result.order and bet.symbol == result.order[0] else 0.0
    if bet.kind == "bracket":
        pct = result.pct.get(bet.symbol)
        if pct is None or bet.low_pct is None or bet.high_pct is None:
            return 0.0
        return 1.0 if bet.low_pct <= pct <= bet.high_pct else 0.0
    if bet.kind == "podium":
        pick = tuple(bet.podium or ())
        top3 = result.order[:3]
        if pick == top3:
            return 1.0
        exact = sum(1 for a, b in zip(pick, top3) if a == b)
        misplaced = sum(1 for i, s in enumerate(pick) if s in top3 and (i >= len(top3) or top3[i] != s))
        return PODIUM_EXACT_POSITION * exact + PODIUM_IN_TOP3 * misplaced
    raise ValueError(f"unknown bet kind {bet.kind!r}")


def participants_factor(participants: int) -> float:
    return min(PARTICIPANTS_CAP, 1.0 + PARTICIPANTS_STEP * math.log2(max(1, participants)))


def timing_factor(seconds_before_close: float, window_seconds: float) -> float:
    """TIMING_MAX for a bet placed when betting opens, falling linearly to 1.0 when it closes."""
    if window_seconds <= 0:
        return 1.0
    early = min(1.0, max(0.0, seconds_before_close / window_seconds))
    return 1.0 + TIMING_EARLY_BONUS * early


def streak_factor(bet: BetInput, hit: bool) -> float:
    if bet.kind != "winner" or not hit:
        return 1.0
    return 1.0 + STREAK_STEP * min(max(0, bet.streak), STREAK_MAX_STEPS)


def bet_score(bet: BetInput, result: RaceResult) -> tuple[int, dict]:
    """(payout, breakdown). The payout is floor(stake × odds × accuracy × timing × participants × streak);
    0 for a miss. The breakdown lists every factor in the order they multiply."""
    acc = accuracy(bet, result)
    factors = {
        "accuracy": acc,
        "timing": bet.timing,
        "participants": participants_factor(result.participants),
        "streak": streak_factor(bet, acc >= 1.0),
    }
    if acc <= 0.0:
        return 0, {"stake": bet.stake, "odds": bet.odds, **factors, "total": 0.0}
    total = bet.stake * bet.odds
    for value in factors.values():
        total *= value
    # A hair added before the floor so that float noise (…99999) cannot take a point away;
    # settlement's SQL (apps.races.settlement.SCORE_SQL) does the same float8 operations in the same order.
    payout = int(math.floor(total + FLOOR_EPSILON))
    return payout, {"stake": bet.stake, "odds": bet.odds, **factors, "total": total}


def to_float(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)
