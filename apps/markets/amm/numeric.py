"""The arithmetic of the market makers: Decimal at 50 significant digits, stored at 18 places.

Why Decimal and not floats: a market's state is rebuilt from its trades (``markets_verify``) and
must come out identical, digit for digit, on any machine; libmpdec's results are correctly
rounded and reproducible, and 50 digits leave about 30 digits of headroom over the 18 we keep.
Every value a market stores (pools, quantities, supply, shares) is a multiple of 10^-18
(``NUMERIC(38, 18)`` columns), rounded in the house's favour where it is cut: shares a player
receives and points a player is paid are rounded down, points a player pays are rounded up.

Points in the ledger are whole numbers. ``charge_points`` and ``pay_points`` turn an exact
amount into them (up for what a player pays, down for what a player receives), after snapping
an amount within 10^-12 of a whole point to it: differences that small are the arithmetic's
noise (the 18th place), not money, and must not cost a player a point on a round trip that is
exact in theory (a CPMM sale returning "exactly" the 10 points paid). See docs/MARKETS.md.
"""
from __future__ import annotations

import math
from decimal import (ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal, DivisionByZero,
                     InvalidOperation, Overflow, localcontext)
from typing import Callable

PLACES = 18
QUANTUM = Decimal(1).scaleb(-PLACES)
SNAP = Decimal("1e-12")
ZERO, ONE, TWO = Decimal(0), Decimal(1), Decimal(2)
CTX = Context(prec=50, rounding=ROUND_HALF_EVEN, Emin=-999_999, Emax=999_999,
              traps=[InvalidOperation, DivisionByZero, Overflow])
# Column bounds: NUMERIC(38, 18) holds magnitudes below 10^20.
MAX_MAGNITUDE = Decimal(10) ** 19


def calc() -> localcontext:
    """``with calc():`` — the context every market-maker computation runs in."""
    return localcontext(CTX)


def dec(value) -> Decimal:
    """A Decimal from an int, a str or a Decimal (never a float: 0.1 is not 1/10)."""
    if isinstance(value, float):
        raise TypeError("market arithmetic takes Decimal, int or str, not float")
    return value if isinstance(value, Decimal) else Decimal(value)


def down(value: Decimal) -> Decimal:
    """Cut to 18 places towards minus infinity (shares received, points paid out)."""
    return value.quantize(QUANTUM, rounding=ROUND_FLOOR, context=CTX)


def up(value: Decimal) -> Decimal:
    """Cut to 18 places towards plus infinity (what a player pays into a market maker)."""
    return value.quantize(QUANTUM, rounding=ROUND_CEILING, context=CTX)


def nearest(value: Decimal) -> Decimal:
    """To 18 places, half to even (parameters such as a CPMM weight after a liquidity add)."""
    return value.quantize(QUANTUM, rounding=ROUND_HALF_EVEN, context=CTX)


def text(value: Decimal) -> str:
    """Always 18 places, so that equal values print alike (read back from a column or computed)."""
    return str(value.quantize(QUANTUM, context=CTX))


def charge_points(amount: Decimal) -> int:
    """Whole points a player pays for ``amount``: rounded up (house's favour), noise snapped."""
    return int((amount - SNAP).to_integral_value(rounding=ROUND_CEILING, context=CTX))


def pay_points(amount: Decimal) -> int:
    """Whole points a player receives for ``amount``: rounded down (house's favour), noise snapped."""
    return max(0, int((amount + SNAP).to_integral_value(rounding=ROUND_FLOOR, context=CTX)))


def ln(x: Decimal) -> Decimal:
    return CTX.ln(x)


def exp(x: Decimal) -> Decimal:
    return CTX.exp(x)


def softplus(z: Decimal) -> Decimal:
    """ln(1 + e^z) without overflow: max(z, 0) + ln(1 + e^-|z|)."""
    with calc():
        return max(z, ZERO) + ln(ONE + exp(-abs(z)))


def solve_increasing(f: Callable[[Decimal], Decimal], df: Callable[[Decimal], Decimal], lo: Decimal,
                     hi: Decimal, *, start: Decimal | None = None, iterations: int = 400) -> Decimal:
    """The root of an increasing ``f`` on [lo, hi] (f(lo) <= 0 <= f(hi)): Newton steps, falling
    back to bisection whenever a step leaves the bracket, to about 40 significant digits."""
    with calc():
        x = start if start is not None and lo < start < hi else (lo + hi) / TWO
        tolerance = Decimal("1e-40") * max(ONE, abs(lo), abs(hi))
        for _ in range(iterations):
            fx = f(x)
            if fx == 0:
                return x
            if fx < 0:
                lo = x
            else:
                hi = x
            slope = df(x)
            step = fx / slope if slope > 0 else None
            nxt = x - step if step is not None else None
            if nxt is None or not (lo < nxt < hi):
                nxt = (lo + hi) / TWO
            if abs(nxt - x) <= tolerance or hi - lo <= tolerance:
                return nxt
            x = nxt
    raise ArithmeticError("market maker: the root search did not converge")


def as_float(value: Decimal) -> float:
    """For display and charts only; never for money."""
    return float(value) if math.isfinite(float(value)) else 0.0
