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
released, booked first), ``:cash`` (trade_sell credit or trade_buy debit), ``:lock`` (collateral
locked), ``:fee``. They are written by one statement (apps/trading/fill_sql.py) built from the
ledger's own SQL pieces, with the account moved once by their sum under the ledger's conditional
debit: a fill that cannot be paid writes nothing and raises InsufficientPoints, and the caller's
transaction rolls back whole. The account row is locked by that statement's UPDATE (after the
order and the position); a buy-in, which must read the balance first, takes it with
``ledger.lock_accounts`` at the same point of the order.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from apps.core.db import prepared_cursor
from apps.core.events import user_event_on_commit
from apps.core.redis import get_redis
from apps.points import ledger
from apps.points.ledger import InsufficientPoints
from apps.trading import fill_sql, index
from apps.trading.models import Fill, Order
from apps.trading.rules import FillPlan, OrderRefused, QuoteView, check_side, plan_fill



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


def _opened_at(position: LockedPosition, change, now: datetime) -> datetime | None:
    if change.quantity == 0:
        return None
    if position.quantity == 0 or (position.quantity > 0) != (change.quantity > 0):
        return now  # opened, or turned through zero
    return position.opened_at


def fill_order(*, order: Order, quote: QuoteView, price: Decimal, quote_ts: float | None,
               position: LockedPosition | None = None, forced: bool = False, notify: bool = False,
               new: bool = False) -> Fill:
    """Fill ``order`` at ``price`` inside the caller's transaction: claimed by the caller (a
    resting order), or inserted here with its fill (``new``: a market order, a buy-in).

    Raises OrderRefused (the side no longer matches the position) or InsufficientPoints; either
    leaves the caller's transaction to roll back, with nothing written. ``forced`` (buy-ins): pay
    what the collateral and balance allow and record the rest as a shortfall.
    """
    now = datetime.now(timezone.utc)
    # Both statements are prepared on the server, planned once per connection (apps.core.db):
    # the fill statement's planning costs more than its work.
    with prepared_cursor() as cursor:
        if position is None:
            position = position_lock(cursor, user_id=order.user_id, symbol=order.symbol)
        plan = plan_for(order=order, position=position, price=price)
        cost, fee, shortfall = -min(plan.cash, 0), plan.fee, 0
        if forced:
            ledger.lock_accounts(cursor, user_ids=[order.user_id])
            cost, fee, shortfall = _payable(cursor, user_id=order.user_id, plan=plan)
        memo = _memo(order, plan)
        legs, params = fill_sql.leg_params(
            {"collateral_release": plan.collateral_released, "cash_in": max(plan.cash, 0), "cash_out": -cost,
             "collateral_lock": -plan.collateral_locked, "trade_fee": -fee},
            {"collateral_release": f"Collateral released: {memo}", "cash_in": memo, "cash_out": memo,
             "collateral_lock": f"Collateral for the short: {memo}",
             "trade_fee": f"Fee ({settings.TRADE_FEE_BPS} bp): {memo}"})
        change = plan.change
        cash = plan.cash if plan.cash > 0 else -cost
        quote_time = datetime.fromtimestamp(quote_ts, timezone.utc) if quote_ts else None
        opened_at = _opened_at(position, change, now)
        params.update({
            "user": order.user_id, "symbol": order.symbol, "side": order.side, "type": order.type,
            "tif": order.time_in_force, "source": order.source, "quantity": order.quantity,
            "limit": order.limit_price, "stop": order.stop_price, "key": order.idempotency_key,
            "reason": order.reason, "triggered_at": order.triggered_at, "trigger_price": order.trigger_price,
            "order": order.pk, "price": price, "cash": cash, "fee": fee, "locked": plan.collateral_locked,
            "released": plan.collateral_released, "shortfall": shortfall, "realized": change.realized_pnl,
            "opened": change.opened_quantity, "position_after": change.quantity, "avg_after": change.avg_cost,
            "quote_ts": quote_time, "invested": (change.opened_quantity * price).quantize(Decimal("1E-6")),
            "collateral_after": plan.collateral_after, "opened_at": opened_at, "position": position.id})
        cursor.execute(fill_sql.fill_sql(legs, new), params)
        row = cursor.fetchone()
        if row is None:  # the account could not pay the net debit: nothing was written
            cursor.execute("SELECT balance FROM points_pointsaccount WHERE user_id = %s", [order.user_id])
            found = cursor.fetchone()
            raise InsufficientPoints(int(found[0]) if found else 0, params["net_debit"])
    order_id, created_at, closed_at, fill_id, filled_at, _, shown_balance = row
    if new:
        order.pk, order.created_at, order.updated_at, order.closed_at = order_id, created_at, created_at, closed_at
        order.status = Order.Status.FILLED
        order._state.adding = False
    fill = Fill(pk=fill_id, user_id=order.user_id, symbol=order.symbol, side=order.side, order_type=order.type,
                quantity=order.quantity, price=price, cash=cash, fee=fee, collateral_locked=plan.collateral_locked,
                collateral_released=plan.collateral_released, shortfall=shortfall, realized_pnl=change.realized_pnl,
                opened_quantity=change.opened_quantity, position_after=change.quantity, avg_cost_after=change.avg_cost,
                quote_ts=quote_time, created_at=filled_at)
    fill._state.adding = False
    fill.order = order  # caches the fill on the order as well (one-to-one)
    fill.plan = plan
    # The player's /ws/me/ hears the new balance, read by the statement itself (no query after).
    user_event_on_commit(order.user_id, {"type": "balance", "balance": int(shown_balance)}, background=True)
    _after_fill(order=order, position_id=position.id, plan=plan, fill=fill, notify=notify,
                was_short=position.quantity < 0, was_indexed=not new)
    return fill


def _after_fill(*, order: Order, position_id: int, plan: FillPlan, fill: Fill, notify: bool,
                was_short: bool, was_indexed: bool) -> None:
    symbol, order_id, buy_in = order.symbol, order.pk, plan.buy_in_price
    if not (was_indexed or was_short or buy_in is not None):
        return _notify(order, fill, notify)  # a market order on a long: the index never knew it

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
    _notify(order, fill, notify)


def _notify(order: Order, fill: Fill, notify: bool) -> None:
    if notify:
        from apps.trading.notify import order_filled_event

        user_event_on_commit(order.user_id, order_filled_event(order, fill), background=True)
