"""An independent reference of the paper-trading semantics, in exact fractions and written the
other way round: it keeps the total cost of the open lot, not an average price.

- adding: the lot's cost grows by shares × price (so the average is quantity-weighted);
- reducing: the closed part takes its share of the lot's cost with it (the average stays);
  realized = proceeds of the closed shares − their share of the cost (reversed for shorts);
- through zero: the old lot is closed whole and a new one opens at the fill price.
"""
from __future__ import annotations

from fractions import Fraction


class Lot:
    def __init__(self):
        self.shares = Fraction(0)  # signed
        self.cost = Fraction(0)  # total cost of the open lot (positive for longs and shorts alike)
        self.realized = Fraction(0)

    @property
    def average(self) -> Fraction:
        return self.cost / abs(self.shares) if self.shares else Fraction(0)

    def trade(self, delta: Fraction, price: Fraction) -> Fraction:
        """Apply a fill of ``delta`` shares; returns the P&L it realized."""
        if self.shares == 0 or (self.shares > 0) == (delta > 0):
            self.shares += delta
            self.cost += abs(delta) * price
            return Fraction(0)
        closing = min(abs(delta), abs(self.shares))
        cost_share = self.cost * closing / abs(self.shares)
        direction = 1 if self.shares > 0 else -1
        realized = direction * (closing * price - cost_share)
        self.realized += realized
        self.cost -= cost_share
        left = abs(delta) - closing
        self.shares += delta
        if self.shares == 0:
            self.cost = Fraction(0)
        elif left:
            self.cost = left * price
        return realized
