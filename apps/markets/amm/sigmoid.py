"""Brief 03's sigmoid bonding curve, for binary markets with a capped supply of YES shares.

The price of the next YES share when x are outstanding (X the most that may be):

    P(x) = Pmin + (Pmax - Pmin) / (1 + e^(-k·(x/X - x0)))

A trade that moves the supply from x1 to x2 is charged the exact integral of P over [x1, x2],
in closed form: F(x) = Pmin·x + (Pmax - Pmin)·(X/k)·ln(1 + e^(k·(x/X - x0))), so the cost is
F(x2) - F(x1). Charging the average of the start and end prices instead, as the brief's first
version did, is exploitable: on the concave part of the curve a buyer who buys in one piece and
sells back in many pieces takes out more than they paid (tests/markets prove both).

Shorts: selling YES shares one does not hold moves the supply below what the longs hold, down
to -X (the brief's negative positions); the seller holds collateral (1 point per share short,
the most a YES share can pay) until they buy back or the market resolves. Buying past X or
selling past -X is refused: the market is dry.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from apps.markets.amm import Dry
from apps.markets.amm.numeric import ONE, calc, down, exp, softplus, solve_increasing, up

YES = 0


@dataclass(frozen=True)
class Curve:
    p_min: Decimal
    p_max: Decimal
    k: Decimal
    x0: Decimal
    max_shares: Decimal

    def as_dict(self) -> dict[str, str]:
        return {"p_min": str(self.p_min), "p_max": str(self.p_max), "k": str(self.k), "x0": str(self.x0),
                "max_shares": str(self.max_shares)}


@dataclass(frozen=True)
class SigmoidState:
    supply: Decimal
    curve: Curve


def price(curve: Curve, x: Decimal) -> Decimal:
    with calc():
        return curve.p_min + (curve.p_max - curve.p_min) / (ONE + exp(-curve.k * (x / curve.max_shares - curve.x0)))


def integral(curve: Curve, x: Decimal) -> Decimal:
    """F(x), an antiderivative of P."""
    with calc():
        z = curve.k * (x / curve.max_shares - curve.x0)
        return curve.p_min * x + (curve.p_max - curve.p_min) * (curve.max_shares / curve.k) * softplus(z)


def area(curve: Curve, x1: Decimal, x2: Decimal) -> Decimal:
    """∫ P over [x1, x2], exactly."""
    with calc():
        return integral(curve, x2) - integral(curve, x1)


def probabilities(state: SigmoidState) -> tuple[Decimal, Decimal]:
    yes = price(state.curve, state.supply)
    with calc():
        return yes, ONE - yes


def _only_yes(outcome: int) -> None:
    if outcome != YES:
        raise ValueError("a bonding-curve market trades YES shares; bet against YES by selling it short")


def buy_shares(state: SigmoidState, outcome: int, shares: Decimal) -> tuple[Decimal, SigmoidState]:
    _only_yes(outcome)
    with calc():
        new = replace(state, supply=state.supply + shares)
    check(new)
    return up(area(state.curve, state.supply, new.supply)), new


def sell_shares(state: SigmoidState, outcome: int, shares: Decimal) -> tuple[Decimal, SigmoidState]:
    _only_yes(outcome)
    with calc():
        new = replace(state, supply=state.supply - shares)
    check(new)
    return down(area(state.curve, new.supply, state.supply)), new


def buy_amount(state: SigmoidState, outcome: int, amount: Decimal) -> tuple[Decimal, SigmoidState]:
    """The shares whose integral is ``amount``: between amount/Pmax and amount/P(x), since P
    only rises along the way; Newton steps (P is the derivative) inside that bracket."""
    _only_yes(outcome)
    curve, x = state.curve, state.supply
    with calc():
        lo, hi = amount / curve.p_max, amount / price(curve, x)
        room = curve.max_shares - x
        if lo > room:
            raise Dry(f"at most {room.normalize():f} more shares may be sold")
        hi = min(hi, room)
        if area(curve, x, x + hi) < amount:
            raise Dry(f"at most {room.normalize():f} more shares may be sold")
        shares = solve_increasing(lambda s: area(curve, x, x + s) - amount, lambda s: price(curve, x + s),
                                  lo, hi, start=(lo + hi) / 2)
        shares = down(shares)
        new = replace(state, supply=x + shares)
    check(new)
    return shares, new


def check(state: SigmoidState) -> None:
    limit = state.curve.max_shares
    if not -limit <= state.supply <= limit:
        raise Dry(f"the supply stays within ±{limit.normalize():f} shares")


def initial(*, curve: Curve) -> SigmoidState:
    if not (Decimal(0) <= curve.p_min < curve.p_max <= ONE):
        raise ValueError("a curve needs 0 <= p_min < p_max <= 1")
    if curve.k <= 0 or curve.max_shares <= 0:
        raise ValueError("a curve needs k > 0 and max_shares > 0")
    return SigmoidState(supply=Decimal(0), curve=curve)


def worst_loss(curve: Curve) -> Decimal:
    """What the house may pay beyond what it takes: every share bought up to X and YES wins
    (X paid for F(X) - F(0)), or the supply sold short down to -X and NO wins (the shorts keep
    F(0) - F(-X) and get their collateral back)."""
    with calc():
        zero = Decimal(0)
        return max(curve.max_shares - area(curve, zero, curve.max_shares), area(curve, -curve.max_shares, zero))
