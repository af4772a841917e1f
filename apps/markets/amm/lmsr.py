"""Multi-outcome markets on Hanson's logarithmic market scoring rule (LMSR).

q_i is the number of shares of outcome i outstanding; the cost function is
C(q) = b·ln Σ e^(q_i/b) and the prices are its gradient, the softmax of q/b. A trade costs the
difference of C before and after it. Both are computed with the max-subtraction trick
(C = b·(m + ln Σ e^(q_i/b - m)) with m = max q_i/b), so no exponential overflows however
large q grows. The house's worst loss is b·ln n (n outcomes), funded when the market opens.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from apps.markets.amm import Refusal
from apps.markets.amm.numeric import ONE, ZERO, calc, down, exp, ln, up

MAX_SHARES = Decimal(10) ** 15  # far beyond any points balance; keeps q inside its columns


@dataclass(frozen=True)
class LmsrState:
    q: tuple[Decimal, ...]
    b: Decimal


def cost(q: tuple[Decimal, ...], b: Decimal) -> Decimal:
    """C(q) = b·(m + ln Σ e^(q_i/b - m)), m = max q_i/b."""
    with calc():
        scaled = [x / b for x in q]
        m = max(scaled)
        return b * (m + ln(sum(exp(x - m) for x in scaled)))


def probabilities(state: LmsrState) -> tuple[Decimal, ...]:
    """softmax(q/b), with the largest exponent subtracted first."""
    with calc():
        scaled = [x / state.b for x in state.q]
        m = max(scaled)
        weights = [exp(x - m) for x in scaled]
        total = sum(weights)
        return tuple(w / total for w in weights)


def _moved(state: LmsrState, outcome: int, delta: Decimal) -> LmsrState:
    if not 0 <= outcome < len(state.q):
        raise ValueError(f"this market has outcomes 0 to {len(state.q) - 1}, not {outcome}")
    q = list(state.q)
    with calc():
        q[outcome] += delta
    return replace(state, q=tuple(q))


def buy_shares(state: LmsrState, outcome: int, shares: Decimal) -> tuple[Decimal, LmsrState]:
    new = _moved(state, outcome, shares)
    check(new)
    with calc():
        return up(cost(new.q, new.b) - cost(state.q, state.b)), new


def sell_shares(state: LmsrState, outcome: int, shares: Decimal) -> tuple[Decimal, LmsrState]:
    new = _moved(state, outcome, -shares)
    check(new)
    with calc():
        return down(cost(state.q, state.b) - cost(new.q, new.b)), new


def buy_amount(state: LmsrState, outcome: int, amount: Decimal) -> tuple[Decimal, LmsrState]:
    """Shares that ``amount`` buys, in closed form: with T = C(q) + amount,
    e^((q_i + s)/b) = e^(T/b) - Σ_{j≠i} e^(q_j/b), each term divided by e^(T/b) first."""
    if not 0 <= outcome < len(state.q):
        raise ValueError(f"this market has outcomes 0 to {len(state.q) - 1}, not {outcome}")
    with calc():
        b = state.b
        total = cost(state.q, b) + amount
        rest = sum(exp((x - total) / b) for j, x in enumerate(state.q) if j != outcome)
        shares = down(total + b * ln(ONE - rest) - state.q[outcome])
    return shares, _checked(_moved(state, outcome, shares))


def _checked(state: LmsrState) -> LmsrState:
    check(state)
    return state


def check(state: LmsrState) -> None:
    if any(abs(x) > MAX_SHARES for x in state.q):
        raise Refusal("This trade is larger than a market can hold.")


def initial(*, outcomes: int, b: Decimal) -> LmsrState:
    return LmsrState(q=tuple(ZERO for _ in range(outcomes)), b=b)


def worst_loss(*, outcomes: int, b: Decimal) -> Decimal:
    """b·ln n: what the house pays at most beyond what it takes in, whatever happens."""
    with calc():
        return b * ln(Decimal(outcomes))
