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
# Bracket precision bonus: a correct bracket of width w % earns 1 + BONUS / (1 + w).
BRACKET_PRECISION_BONUS = 0.5
# Participants: 1 + 0.05 per doubling of the field, capped.
PARTICIPANTS_STEP = 0.05
PARTICIPANTS_CAP = 1.25
# Timing: 1.05 for a bet at the opening of the betting window, falling linearly to 1.00 at the start.
TIMING_EARLY_BONUS = 0.05
# Streak: +0.1 per earlier consecutive correct winner pick, up to +0.5.
STREAK_STEP = 0.10
STREAK_MAX_STEPS = 5
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
    seconds_before_start: float = 0.0  # how long before the start the bet was placed
    streak: int = 0  # the player's correct-winner streak before this race


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


def precision_factor(bet: BetInput) -> float:
    if bet.kind != "bracket" or bet.low_pct is None or bet.high_pct is None:
        return 1.0
    width = max(0.0, bet.high_pct - bet.low_pct)
    return 1.0 + BRACKET_PRECISION_BONUS / (1.0 + width)


def participants_factor(participants: int) -> float:
    return min(PARTICIPANTS_CAP, 1.0 + PARTICIPANTS_STEP * math.log2(max(1, participants)))


def timing_factor(seconds_before_start: float, window_seconds: float) -> float:
    if window_seconds <= 0:
        return 1.0
    early = min(1.0, max(0.0, seconds_before_start / window_seconds))
    return 1.0 + TIMING_EARLY_BONUS * early


def streak_factor(bet: BetInput, hit: bool) -> float:
    if bet.kind != "winner" or not hit:
        return 1.0
    return 1.0 + STREAK_STEP * min(max(0, bet.streak), STREAK_MAX_STEPS)


def bet_score(bet: BetInput, result: RaceResult) -> tuple[int, dict]:
    """(payout, breakdown). The payout is floor(stake × odds × every factor); 0 for a miss."""
    acc = accuracy(bet, result)
    if acc <= 0.0:
        return 0, {"accuracy": 0.0, "total": 0.0}
    factors = {
        "accuracy": acc,
        "precision": precision_factor(bet),
        "participants": participants_factor(result.participants),
        "timing": timing_factor(bet.seconds_before_start, result.window_seconds),
        "streak": streak_factor(bet, acc >= 1.0),
    }
    total = bet.stake * bet.odds
    for value in factors.values():
        total *= value
    # A hair added before the floor so that float noise (…99999) cannot take a point away;
    # settlement's SQL (apps.races.settlement.SCORE_SQL) does the same float8 operations in the same order.
    payout = int(math.floor(total + FLOOR_EPSILON))
    return payout, {"base": round(bet.stake * bet.odds, 4), **{k: round(v, 6) for k, v in factors.items()},
                    "total": round(total, 6)}


def to_float(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)
