"""The one price: what a trade gets and costs, computed by one function for the quote and the trade.

``fill_for`` takes a market's mechanism state, the order and the player's position, and returns
the ``Fill``: shares, the exact cost on the curve, the whole points of the buy or sell entry, the
fee, the collateral a short locks or releases, the net points to the player and the
probabilities before and after. ``POST /api/v1/markets/{id}/quote/`` calls it on the market as
it is; a trade calls it on the market row it holds locked, then writes exactly that fill. There
is no second copy of the arithmetic, on the server or in the browser (brief 03's lesson).

Rounding (docs/MARKETS.md): shares received and proceeds are cut down, costs up (amm.numeric);
whole points charged are rounded up, paid rounded down; the fee is MARKET_FEE_PCT of the trade's
whole points, rounded up. A buy by amount spends exactly that many points, fee included.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from apps.markets import errors
from apps.markets.amm import Refusal, cpmm
from apps.markets.amm.numeric import ZERO, calc, charge_points, pay_points, text
from apps.markets.state import module_of

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Order:
    outcome: int
    side: str  # "buy" | "sell"
    amount: int | None = None  # whole points to spend (buys only)
    shares: Decimal | None = None


@dataclass(frozen=True)
class Fill:
    order: Order
    shares: Decimal  # moved (> 0)
    cost: Decimal  # exact points into (buy) or out of (sell) the market maker
    points: int  # whole points of the buy (charged) or sell (paid) entry
    fee: int
    collateral: int  # locked (> 0) or released (< 0) for a short
    cash: int  # net points to the player (< 0: the player pays)
    position_before: Decimal
    position_after: Decimal
    prob_before: tuple[Decimal, ...]
    prob_after: tuple[Decimal, ...]
    state: object  # the mechanism's state after the trade

    @property
    def avg_price(self) -> Decimal:
        with calc():
            return self.cost / self.shares

    def as_dict(self) -> dict:
        o = self.order.outcome
        return {"outcome": o, "side": self.order.side, "shares": text(self.shares), "cost": self.points,
                "cost_exact": text(self.cost), "fee": self.fee, "collateral": self.collateral, "cash": self.cash,
                "avg_price": text(self.avg_price), "prob_before": text(self.prob_before[o]),
                "prob_after": text(self.prob_after[o]), "probabilities_after": [text(x) for x in self.prob_after],
                "position_after": text(self.position_after)}


def fee_on(points: int, fee_pct: Decimal) -> int:
    if points <= 0 or fee_pct <= 0:
        return 0
    with calc():
        return charge_points(Decimal(points) * fee_pct / HUNDRED)


def collateral_for(shares: Decimal) -> int:
    """Points held for a position: 1 per share short (the most a YES share pays), rounded up."""
    return charge_points(-shares) if shares < 0 else 0


def _refused(exc: Refusal) -> errors.MarketRefused:
    return errors.MarketRefused(str(exc), code=exc.code)


def fill_for(*, mechanism: str, state, outcomes: int, fee_pct: Decimal, order: Order,
             position: Decimal = ZERO, collateral: int = 0) -> Fill:
    """The fill of ``order`` against ``state``; raises MarketRefused (nothing happens) when the
    curve cannot take it or the player cannot make it. ``position``/``collateral``: the
    player's shares of the outcome and the collateral held for them."""
    module = module_of(mechanism)
    if not 0 <= order.outcome < outcomes or (mechanism == "sigmoid" and order.outcome != 0):
        hint = ("a bonding-curve market trades YES (0); sell it to go short" if mechanism == "sigmoid"
                else f"choose 0 to {outcomes - 1}")
        raise errors.invalid(f"Unknown outcome {order.outcome}: {hint}.", field="outcome", code="unknown_outcome")
    before = module.probabilities(state)
    try:
        if order.side == "buy":
            fill = _buy(module, state, order, fee_pct)
        elif order.side == "sell":
            fill = _sell(module, mechanism, state, order, fee_pct, position)
        else:
            raise errors.invalid('side is "buy" or "sell".', field="side")
    except Refusal as exc:
        raise _refused(exc) from None
    shares, cost, points, fee, cash, new_state = fill
    with calc():
        after_shares = position + shares if order.side == "buy" else position - shares
    locked = collateral_for(after_shares) - collateral if mechanism == "sigmoid" else 0
    return Fill(order=order, shares=shares, cost=cost, points=points, fee=fee, collateral=locked, cash=cash - locked,
                position_before=position, position_after=after_shares, prob_before=before,
                prob_after=module.probabilities(new_state), state=new_state)


def _too_small(message: str) -> errors.MarketRefused:
    return errors.invalid(message, field="amount", code="too_small")


def _buy(module, state, order: Order, fee_pct: Decimal):
    if order.amount is not None:
        fee = fee_on(order.amount, fee_pct)
        net = order.amount - fee
        if net <= 0:
            raise _too_small(f"{order.amount} points do not cover the fee of {fee}; spend more.")
        shares, new_state = module.buy_amount(state, order.outcome, Decimal(net))
        if shares <= 0:
            raise _too_small("This amount buys no shares; spend more.")
        return shares, Decimal(net), net, fee, -order.amount, new_state
    cost, new_state = module.buy_shares(state, order.outcome, order.shares)
    points = charge_points(cost)
    fee = fee_on(points, fee_pct)
    return order.shares, cost, points, fee, -(points + fee), new_state


def _sell(module, mechanism: str, state, order: Order, fee_pct: Decimal, position: Decimal):
    if order.shares is None:
        raise errors.invalid("A sale is given in shares: send shares, not amount.", field="shares")
    if mechanism != "sigmoid" and order.shares > position:
        held = position.normalize() if position else 0
        raise errors.MarketRefused(f"You hold {held} shares of this outcome; you cannot sell {order.shares.normalize()}."
                                   + (" Buy NO to bet against YES." if mechanism == "cpmm" and order.outcome == cpmm.YES
                                      else ""), code="insufficient_shares")
    proceeds, new_state = module.sell_shares(state, order.outcome, order.shares)
    points = pay_points(proceeds)
    if points <= 0:
        raise errors.invalid("These shares are worth less than a point; sell more.", field="shares", code="too_small")
    fee = fee_on(points, fee_pct)
    return order.shares, proceeds, points, fee, points - fee, new_state
