"""One fill, in the caller's transaction: the position row locked, the points account locked,
every point moved through apps.points.ledger, the fill written, the position updated.

Lock order, the same on every path (so two fills never wait on each other in a circle):

1. the order row — claimed by a conditional UPDATE on its status (a resting order), or just
   inserted (a market order, a buy-in: nobody else can hold a row that did not exist);
2. the position row — ``INSERT ... ON CONFLICT DO UPDATE`` takes its lock in the same statement;
   a buy-in locks it first, before inserting its order, which is still deadlock-free because
   that order row is new;
3. the points account — ``ledger.lock_accounts``.

Ledger entries, keyed by the order (one fill per order): ``trade:{order}:release`` (collateral
released, credited first), ``:cash`` (trade_sell credit or trade_buy debit), ``:lock`` (collateral
locked), ``:fee``. Credits go first so that a sale funding a short's collateral never dips
below zero on the way; a debit that cannot be paid raises InsufficientPoints and the caller's
transaction rolls back whole.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction

from apps.core.events import user_event_on_commit
from apps.core.redis import get_redis
from apps.points import ledger
from apps.points.models import LedgerEntry
from apps.trading import index
from apps.trading.models import Fill, Order
from apps.trading.rules import FillPlan, OrderRefused, QuoteView, check_side, plan_fill

Kind = LedgerEntry.Kind


@dataclass(frozen=True, slots=True)
class LockedPosition:
    id: int
    quantity: Decimal
    avg_cost: Decimal
    collateral: int
    opened_at: datetime | None


_POSITION_LOCK_SQL = """
INSERT INTO trading_position (user_id, symbol, quantity, avg_cost, realized_pnl, fees_paid, invested, collateral,
                              updated_at)
SELECT u.id, %s, 0, 0, 0, 0, 0, 0, now() FROM accounts_user u WHERE u.id = %s AND u.is_active
ON CONFLICT (user_id, symbol) DO UPDATE SET updated_at = trading_position.updated_at
RETURNING id, quantity, avg_cost, collateral, opened_at
"""

_POSITION_UPDATE_SQL = """
UPDATE trading_position
SET quantity = %(quantity)s, avg_cost = %(avg_cost)s, realized_pnl = realized_pnl + %(realized)s,
    fees_paid = fees_paid + %(fee)s, invested = invested + %(invested)s, collateral = %(collateral)s,
    opened_at = %(opened_at)s, updated_at = now()
WHERE id = %(id)s
"""


def position_lock(cursor, *, user_id: int, symbol: str) -> LockedPosition:
    """The player's position row for ``symbol``, created flat if new, locked until commit."""
    cursor.execute(_POSITION_LOCK_SQL, [symbol, user_id])
    row = cursor.fetchone()
    if row is None:  # the statement inserts (and locks) only for an active account
        raise OrderRefused("account_inactive", "This account cannot trade.", status=403)
    pid, quantity, avg_cost, collateral, opened_at = row
    return LockedPosition(pid, quantity, avg_cost, collateral, opened_at)


def plan_for(*, order: Order, position: LockedPosition, price: Decimal) -> FillPlan:
    check_side(side=order.side, quantity=order.quantity, held=position.quantity, symbol=order.symbol)
    return plan_fill(side=order.side, quantity=order.quantity, price=price, held=position.quantity,
                     avg_cost=position.avg_cost, collateral=position.collateral, fee_bps=settings.TRADE_FEE_BPS,
                     initial_pct=settings.TRADE_SHORT_INITIAL_PCT,
                     maintenance_pct=settings.TRADE_SHORT_MAINTENANCE_PCT)


def _memo(order: Order, plan: FillPlan) -> str:
    verb = {"buy": "Bought", "sell": "Sold", "sell_short": "Sold short", "buy_to_cover": "Covered"}[order.side]
    return f"{verb} {plan.quantity.normalize():f} {order.symbol} @ {plan.price} (order {order.pk})"


def _payable(cursor, *, user_id: int, plan: FillPlan) -> tuple[int, int, int]:
    """A buy-in must close the short whatever it costs: (cost, fee, shortfall) the player can
    actually pay, the balance read under the account lock we hold."""
    cursor.execute("SELECT balance FROM points_pointsaccount WHERE user_id = %s", [user_id])
    available = cursor.fetchone()[0] + plan.collateral_released + max(plan.cash, 0)
    cost, fee = -min(plan.cash, 0), plan.fee
    paid_cost = min(cost, available)
    paid_fee = min(fee, available - paid_cost)
    return paid_cost, paid_fee, (cost - paid_cost) + (fee - paid_fee)


def fill_order(*, order: Order, quote: QuoteView, price: Decimal, quote_ts: float | None,
               position: LockedPosition | None = None, forced: bool = False, notify: bool = False) -> Fill:
    """Fill ``order`` (claimed or freshly inserted by the caller, inside its transaction) at
    ``price``. Raises OrderRefused (the side no longer matches the position) or InsufficientPoints;
    either leaves the caller's transaction to roll back. ``forced`` (buy-ins): pay what the
    collateral and balance allow and record the rest as a shortfall."""
    with connection.cursor() as cursor:
        if position is None:
            position = position_lock(cursor, user_id=order.user_id, symbol=order.symbol)
        plan = plan_for(order=order, position=position, price=price)
        ledger.lock_accounts(cursor, user_ids=[order.user_id])
        cost, fee, shortfall = -min(plan.cash, 0), plan.fee, 0
        if forced:
            cost, fee, shortfall = _payable(cursor, user_id=order.user_id, plan=plan)
        base, user_id, memo = f"trade:{order.pk}:", order.user_id, _memo(order, plan)
        if plan.collateral_released:
            ledger.credit(user_id=user_id, amount=plan.collateral_released, kind=Kind.COLLATERAL_RELEASE,
                          key=base + "release", memo=f"Collateral released: {memo}")
        if plan.cash > 0:
            ledger.credit(user_id=user_id, amount=plan.cash, kind=Kind.TRADE_SELL, key=base + "cash", memo=memo)
        elif cost:
            ledger.debit(user_id=user_id, amount=cost, kind=Kind.TRADE_BUY, key=base + "cash", memo=memo)
        if plan.collateral_locked:
            ledger.debit(user_id=user_id, amount=plan.collateral_locked, kind=Kind.COLLATERAL_LOCK,
                         key=base + "lock", memo=f"Collateral for the short: {memo}")
        if fee:
            ledger.debit(user_id=user_id, amount=fee, kind=Kind.TRADE_FEE, key=base + "fee",
                         memo=f"Fee ({settings.TRADE_FEE_BPS} bp): {memo}")
        change = plan.change
        opened_at = position.opened_at
        if change.quantity == 0:
            opened_at = None
        elif position.quantity == 0 or (position.quantity > 0) != (change.quantity > 0):
            opened_at = datetime.now(timezone.utc)
        cursor.execute(_POSITION_UPDATE_SQL, {
            "id": position.id, "quantity": change.quantity, "avg_cost": change.avg_cost,
            "realized": change.realized_pnl, "fee": fee, "invested": (change.opened_quantity * price).quantize(Decimal("1E-6")),
            "collateral": plan.collateral_after, "opened_at": opened_at})
    fill = Fill.objects.create(
        order=order, user_id=order.user_id, symbol=order.symbol, side=order.side, order_type=order.type,
        quantity=order.quantity, price=price, cash=plan.cash if plan.cash > 0 else -cost, fee=fee,
        collateral_locked=plan.collateral_locked, collateral_released=plan.collateral_released, shortfall=shortfall,
        realized_pnl=change.realized_pnl, opened_quantity=change.opened_quantity, position_after=change.quantity,
        avg_cost_after=change.avg_cost,
        quote_ts=datetime.fromtimestamp(quote_ts, timezone.utc) if quote_ts else None)
    fill.plan = plan
    _after_fill(order=order, position_id=position.id, plan=plan, fill=fill, notify=notify)
    return fill


def _after_fill(*, order: Order, position_id: int, plan: FillPlan, fill: Fill, notify: bool) -> None:
    symbol, order_id, buy_in = order.symbol, order.pk, plan.buy_in_price

    def reindex():
        try:
            client = get_redis()
            pipe = client.pipeline(transaction=False)
            index.order_remove(client, order_id=order_id, symbol=symbol, pipe=pipe)
            index.short_set(client, position_id=position_id, symbol=symbol, buy_in_price=buy_in, pipe=pipe)
            pipe.execute()
        except Exception:  # noqa: BLE001 - after commit; index_sync heals it within 30 s
            import logging

            logging.getLogger("stockrace.trading").exception("trigger index not updated for order %s", order_id)

    transaction.on_commit(reindex)
    if notify:
        from apps.trading.notify import order_filled_event

        user_event_on_commit(order.user_id, order_filled_event(order, fill), background=True)
