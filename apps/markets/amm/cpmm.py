"""Binary markets on Manifold's constant-product market maker with a weight (``cpmm-1``).

Pools Y (YES) and N (NO), weight p; the invariant is k = Y^p · N^(1-p) and the probability of
YES is p·N / ((1-p)·Y + p·N). Putting b points in mints b YES and b NO shares into the pools;
a YES buyer then takes out of the YES pool whatever keeps k:

    shares = Y + b - (k · (N + b)^(p-1))^(1/p),  pools → (Y + b - shares, N + b)

and NO is the mirror image. Selling s YES shares is buying s NO shares (for the amount b that
costs) and redeeming the s YES + NO pairs for s points: the seller receives s - b. Adding
liquidity puts L in both pools and moves p so that the probability stays where it was.

Limits: neither pool may fall below the market's floor (``Dry``: "market is dry") and the
probability stays within [0.01, 0.99] (``PriceLimit``).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from apps.markets.amm import Dry, PriceLimit
from apps.markets.amm.numeric import (ONE, TWO, ZERO, calc, down, exp, ln, nearest, solve_increasing, up)

YES, NO = 0, 1
PROB_MIN, PROB_MAX = Decimal("0.01"), Decimal("0.99")


@dataclass(frozen=True)
class CpmmState:
    yes: Decimal
    no: Decimal
    p: Decimal
    floor: Decimal = ONE

    @property
    def k(self) -> Decimal:
        with calc():
            return exp(self.p * ln(self.yes) + (ONE - self.p) * ln(self.no))


def probability(state: CpmmState) -> Decimal:
    """P(YES) = p·N / ((1-p)·Y + p·N)."""
    with calc():
        p = state.p
        return p * state.no / ((ONE - p) * state.yes + p * state.no)


def probabilities(state: CpmmState) -> tuple[Decimal, Decimal]:
    yes = probability(state)
    with calc():
        return yes, ONE - yes


def _sides(state: CpmmState, outcome: int) -> tuple[Decimal, Decimal, Decimal]:
    """(pool of the outcome bought, the other pool, the bought pool's exponent in k)."""
    if outcome == YES:
        return state.yes, state.no, state.p
    if outcome == NO:
        return state.no, state.yes, ONE - state.p
    raise ValueError(f"a binary market has outcomes 0 (YES) and 1 (NO), not {outcome}")


def _with(state: CpmmState, outcome: int, bought: Decimal, other: Decimal) -> CpmmState:
    return replace(state, yes=bought, no=other) if outcome == YES else replace(state, yes=other, no=bought)


def shares_for_amount(a: Decimal, c: Decimal, w: Decimal, b: Decimal) -> Decimal:
    """Shares of the outcome whose pool is ``a`` (exponent ``w``; other pool ``c``) that ``b``
    buys, exactly: a + b - a·(c / (c + b))^((1-w)/w)."""
    with calc():
        if w == Decimal("0.5"):
            return a + b - a * c / (c + b)
        return a + b - a * (c / (c + b)) ** ((ONE - w) / w)


def amount_for_shares(a: Decimal, c: Decimal, w: Decimal, s: Decimal) -> Decimal:
    """The amount b that buys exactly ``s`` shares: the root of (a+b-s)^w (c+b)^(1-w) = a^w c^(1-w)."""
    with calc():
        if w == Decimal("0.5"):
            # (a + b - s)(c + b) = a·c, the quadratic's positive root.
            t = a + c - s
            return (-t + (t * t + 4 * s * c).sqrt()) / TWO
        target = w * ln(a) + (ONE - w) * ln(c)
        lo = max(ZERO, s - a)

        def f(b: Decimal) -> Decimal:
            return w * ln(a + b - s) + (ONE - w) * ln(c + b) - target

        def df(b: Decimal) -> Decimal:
            return w / (a + b - s) + (ONE - w) / (c + b)

        # f is increasing and concave: Newton from the left of the root climbs to it without
        # overshooting. The average price is at least the current one, so the root is above
        # s·price; start there, or just inside the domain when that is left of it.
        price = w * c / ((ONE - w) * a + w * c)  # the bought outcome's probability
        start = s * price
        if start <= lo:
            start = lo + (s - lo) * Decimal("1e-6")
            while f(start) > 0:
                start = lo + (start - lo) / Decimal(1000)
        return solve_increasing(f, df, lo, s, start=start)


def buy_amount(state: CpmmState, outcome: int, amount: Decimal) -> tuple[Decimal, CpmmState]:
    """Put ``amount`` in, get (shares rounded down, new state)."""
    a, c, w = _sides(state, outcome)
    with calc():
        shares = down(shares_for_amount(a, c, w, amount))
        new = _with(state, outcome, a + amount - shares, c + amount)
    check(new)
    return shares, new


def buy_shares(state: CpmmState, outcome: int, shares: Decimal) -> tuple[Decimal, CpmmState]:
    """Buy exactly ``shares``: (cost rounded up, new state)."""
    a, c, w = _sides(state, outcome)
    with calc():
        cost = up(amount_for_shares(a, c, w, shares))
        new = _with(state, outcome, a + cost - shares, c + cost)
    check(new)
    return cost, new


def sell_shares(state: CpmmState, outcome: int, shares: Decimal) -> tuple[Decimal, CpmmState]:
    """Sell ``shares``: buy as many of the other outcome and redeem the pairs. (proceeds, state)."""
    other = NO if outcome == YES else YES
    cost, new = buy_shares(state, other, shares)
    with calc():
        return shares - cost, new


def add_liquidity(state: CpmmState, amount: Decimal) -> CpmmState:
    """``amount`` more in each pool; p moves so that the probability stays the same."""
    with calc():
        prob = probability(state)
        y, n = state.yes + amount, state.no + amount
        p = nearest(prob * y / ((ONE - prob) * n + prob * y))
        return replace(state, yes=y, no=n, p=p)


def check(state: CpmmState) -> None:
    if state.yes < state.floor or state.no < state.floor:
        raise Dry(f"pools may not fall below {state.floor.normalize():f} shares")
    prob = probability(state)
    if not PROB_MIN <= prob <= PROB_MAX:
        raise PriceLimit(f"This trade would move the probability to {prob * 100:.2f} %, outside "
                         f"{PROB_MIN * 100:.0f}-{PROB_MAX * 100:.0f} %. Trade less.")


def initial(*, liquidity: Decimal, probability: Decimal, floor: Decimal = ONE) -> CpmmState:
    """Manifold's opening state: both pools hold the liquidity, p is the initial probability."""
    state = CpmmState(yes=liquidity, no=liquidity, p=probability, floor=floor)
    check(state)
    return state

