"""Property tests of cost basis and realized P&L against tests/trading/reference.py, over random
sequences of trades: the pure arithmetic (positions.apply_fill), and the whole fill path through
PostgreSQL and the ledger (services.order_place)."""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from apps.trading.models import Fill, Position
from apps.trading.positions import apply_fill
from apps.trading.rules import OrderRefused, parse_order
from apps.trading.services import order_place
from tests.support.factories import UserFactory
from tests.support.ledger import balance_of
from tests.trading.conftest import quote
from tests.trading.reference import Lot

quantities = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("500"), places=6)
prices = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("5000"), places=4)
trades = st.lists(st.tuples(st.booleans(), quantities, prices), min_size=1, max_size=40)


def _close(a: Decimal, b: Fraction, tolerance: Fraction) -> bool:
    return abs(Fraction(a) - b) <= tolerance


@given(trades)
@hsettings(max_examples=400, deadline=None)
def test_apply_fill_matches_the_reference(sequence):
    quantity, avg = Decimal(0), Decimal(0)
    lot = Lot()
    realized_total = Decimal(0)
    for n, (buy, size, price) in enumerate(sequence, start=1):
        delta = size if buy else -size
        change = apply_fill(quantity=quantity, avg_cost=avg, delta=delta, price=price)
        expected = lot.trade(Fraction(delta), Fraction(price))
        quantity, avg = change.quantity, change.avg_cost
        realized_total += change.realized_pnl
        assert Fraction(quantity) == lot.shares  # quantities are exact
        # Stored averages have 10 decimals and realized P&L 6: each step may round once.
        assert _close(avg, lot.average, Fraction(n, 10**9) * (1 + lot.average))
        assert _close(change.realized_pnl, expected, Fraction(1, 10**5) * (1 + abs(lot.shares) + Fraction(size)))
    assert _close(realized_total, lot.realized, Fraction(len(sequence), 10**4) * 5)


@given(trades)
@hsettings(max_examples=200, deadline=None)
def test_average_stays_on_reducing_and_resets_through_zero(sequence):
    quantity, avg = Decimal(0), Decimal(0)
    for buy, size, price in sequence:
        delta = size if buy else -size
        change = apply_fill(quantity=quantity, avg_cost=avg, delta=delta, price=price)
        if quantity != 0 and (quantity > 0) != (delta > 0):
            if change.quantity == 0:
                assert change.avg_cost == 0
            elif (change.quantity > 0) == (quantity > 0):
                assert change.avg_cost == avg  # reducing keeps the average exactly
            else:
                assert change.avg_cost == price  # through zero: the new side opens at the fill price
        quantity, avg = change.quantity, change.avg_cost


# ----------------------------------------------------------------------------- the whole fill path

db_trades = st.lists(st.tuples(st.sampled_from(["buy", "sell", "sell_short", "buy_to_cover"]),
                               st.decimals(min_value=Decimal("0.001"), max_value=Decimal("40"), places=3),
                               st.decimals(min_value=Decimal("1"), max_value=Decimal("300"), places=2)),
                     min_size=1, max_size=12)


@pytest.mark.django_db
@given(sequence=db_trades)
@hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fills_through_the_database_match_the_reference(stocks, settings, sequence):
    settings.TRADE_FEE_BPS = 0
    user = UserFactory(balance=1_000_000)
    lot = Lot()
    cash = 0
    for side, size, price in sequence:
        quote("TRDA", float(price), bid=float(price), ask=float(price))
        spec = parse_order({"symbol": "TRDA", "side": side, "type": "market", "quantity": str(size)})
        try:
            order, _ = order_place(user_id=user.pk, spec=spec)
        except OrderRefused as refusal:
            # Sell and cover only reduce: refused exactly when the position is not there.
            assert refusal.code == "no_position"
            held = lot.shares
            assert (side == "sell" and held < size) or (side == "buy_to_cover" and -held < size)
            continue
        delta = size if side in ("buy", "buy_to_cover") else -size
        expected = lot.trade(Fraction(delta), Fraction(price))
        fill = Fill.objects.get(order=order)
        assert _close(fill.realized_pnl, expected, Fraction(1, 10**4))
        cash += fill.cash - fill.collateral_locked + fill.collateral_released
    position = Position.objects.filter(user=user, symbol="TRDA").first()
    shares = position.quantity if position else Decimal(0)
    assert Fraction(shares) == lot.shares
    if position:
        assert _close(position.avg_cost, lot.average, Fraction(1, 10**6))
        assert _close(position.realized_pnl, lot.realized, Fraction(1, 10**3))
        assert position.collateral >= 0 and (position.quantity < 0 or position.collateral == 0)
    assert balance_of(user) == 1_000_000 + cash  # and the balance equals its ledger
