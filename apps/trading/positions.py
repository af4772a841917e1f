"""Position arithmetic, the paper-trading semantics of backtrader and zipline:

- adding to a position (or opening one) moves the average cost to the quantity-weighted
  average of the old cost and the fill price;
- reducing it keeps the average cost, and realizes (fill − average) × quantity closed
  (reversed for a short);
- going through zero closes the old side (realizing its P&L) and opens the new side at the
  fill price.

Quantities are signed (negative: short). Pure functions of Decimals; property-tested against an
independent reference in tests/trading/test_positions_property.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

COST_QUANTUM = Decimal("1E-10")  # Position.avg_cost has 10 decimal places
PNL_QUANTUM = Decimal("1E-6")  # realized P&L has 6
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class PositionChange:
    quantity: Decimal  # after the fill, signed
    avg_cost: Decimal  # after the fill (0 when flat)
    realized_pnl: Decimal  # realized by this fill
    closed_quantity: Decimal  # of the old position, absolute
    opened_quantity: Decimal  # opened or added on the new (or same) side, absolute


def _sign(value: Decimal) -> int:
    return (value > 0) - (value < 0)


def apply_fill(*, quantity: Decimal, avg_cost: Decimal, delta: Decimal, price: Decimal) -> PositionChange:
    """The position after a fill of ``delta`` shares (positive buys, negative sells) at ``price``."""
    if delta == 0:
        raise ValueError("a fill moves a non-zero quantity")
    new_quantity = quantity + delta
    if quantity == 0 or _sign(quantity) == _sign(delta):
        total = abs(new_quantity)
        average = (abs(quantity) * avg_cost + abs(delta) * price) / total
        return PositionChange(quantity=new_quantity, avg_cost=average.quantize(COST_QUANTUM, ROUND_HALF_EVEN),
                              realized_pnl=ZERO, closed_quantity=ZERO, opened_quantity=abs(delta))
    closed = min(abs(delta), abs(quantity))
    realized = ((price - avg_cost) * closed * _sign(quantity)).quantize(PNL_QUANTUM, ROUND_HALF_EVEN)
    if new_quantity == 0:
        average, opened = ZERO, ZERO
    elif _sign(new_quantity) == _sign(quantity):
        average, opened = avg_cost, ZERO
    else:  # through zero: the remainder opens the other side at the fill price
        average, opened = price, abs(new_quantity)
    return PositionChange(quantity=new_quantity, avg_cost=average, realized_pnl=realized, closed_quantity=closed,
                          opened_quantity=opened)


def unrealized_pnl(*, quantity: Decimal, avg_cost: Decimal, price: Decimal) -> Decimal:
    """(price − average cost) × quantity: positive when a long rose or a short fell."""
    return (price - avg_cost) * quantity
