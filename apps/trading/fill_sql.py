"""The one statement that books a fill (run by execution.fill_order inside its transaction, after
the order is claimed and the position row locked).

Each step reads the previous one's RETURNING rows, so it runs, and takes its locks, in order:

1. ``moved`` — the player's points account, moved by the fill's net amount: the ledger's own
   conditional debit (apps.points.ledger.stake_debit_sql: ``balance >= amount``); a net credit
   is a debit of a negative amount. No row: the fill cannot be paid, and nothing below happens;
2. ``o``     — the order: inserted here for a market order or a buy-in (its id keys the entries),
   or the claimed order's id passed in;
3. ``e1..``  — one ledger entry per leg, in the order credits first (collateral released, sale
   proceeds), then debits (cost, collateral locked, fee), each with the balance after it, written
   with the ledger's own SQL (apps.points.ledger.entry_insert_sql): the ledger module stays the
   one writer of entries; their amounts add up to the move of step 1, so balance == SUM(ledger);
4. ``f``     — the fill (one per order: its unique order key);
5. ``p``     — the position's new quantity, average cost, realized P&L, collateral.

One round trip instead of one per leg, savepoint and ORM insert: the market-order path's cost
was mostly round trips (bench/trading_orders.py). The statement returns the balance the player
is shown, which their /ws/me/ gets after the commit (as ledger.balances_push_on_commit would
send, without reading it again).
"""
from __future__ import annotations

import functools

from apps.points import ledger

# (kind, key suffix) of each leg, in booking order.
LEGS = (("collateral_release", "release"), ("cash_in", "cash"), ("cash_out", "cash"), ("collateral_lock", "lock"),
        ("trade_fee", "fee"))
KINDS = {"collateral_release": "collateral_release", "cash_in": "trade_sell", "cash_out": "trade_buy",
         "collateral_lock": "collateral_lock", "trade_fee": "trade_fee"}

_NEW_ORDER = """INSERT INTO trading_order (user_id, symbol, side, type, time_in_force, status, source, quantity,
                               limit_price, stop_price, idempotency_key, reason, created_at, updated_at,
                               triggered_at, trigger_price, closed_at, expires_at)
    SELECT %(user)s, %(symbol)s, %(side)s, %(type)s, %(tif)s, 'filled', %(source)s, %(quantity)s, %(limit)s, %(stop)s,
           %(key)s, %(reason)s, now(), now(), %(triggered_at)s, %(trigger_price)s, now(), NULL
    FROM moved
    RETURNING id, created_at, closed_at"""
_CLAIMED_ORDER = "SELECT %(order)s::bigint AS id, NULL::timestamptz AS created_at, NULL::timestamptz AS closed_at FROM moved"

_TEMPLATE = """
WITH moved AS (
    {debit}
),
o AS (
    {order}
),
{entries}
f AS (
    INSERT INTO trading_fill (order_id, user_id, symbol, side, order_type, quantity, price, cash, fee,
                              collateral_locked, collateral_released, shortfall, realized_pnl, opened_quantity,
                              position_after, avg_cost_after, quote_ts, created_at)
    SELECT o.id, %(user)s, %(symbol)s, %(side)s, %(type)s, %(quantity)s, %(price)s, %(cash)s, %(fee)s, %(locked)s,
           %(released)s, %(shortfall)s, %(realized)s, %(opened)s, %(position_after)s, %(avg_after)s, %(quote_ts)s,
           now()
    FROM o
    RETURNING id, created_at
),
p AS (
    UPDATE trading_position
    SET quantity = %(position_after)s, avg_cost = %(avg_after)s, realized_pnl = realized_pnl + %(realized)s,
        fees_paid = fees_paid + %(fee)s, invested = invested + %(invested)s, collateral = %(collateral_after)s,
        opened_at = %(opened_at)s, updated_at = now()
    WHERE id = %(position)s AND EXISTS (SELECT 1 FROM f)
    RETURNING id
)
SELECT o.id, o.created_at, o.closed_at, f.id, f.created_at, (SELECT count(*) FROM p), moved.shown_balance
FROM o, f, moved
"""


@functools.cache
def fill_sql(legs: tuple[str, ...], new_order: bool) -> str:
    """The statement for a fill with these legs (names of LEGS with a non-zero amount)."""
    entries = []
    for n, leg in enumerate(legs):
        suffix = dict(LEGS)[leg]
        entry = ledger.entry_insert_sql(
            user="%(user)s", amount=f"%(amount_{leg})s", kind=f"'{KINDS[leg]}'",
            key=f"'trade:' || o.id || ':{suffix}'", balance_after=f"moved.balance + %(after_{leg})s",
            memo=f"%(memo_{leg})s", from_="moved, o")
        entries.append(f"e{n} AS (\n    {entry}\n),")
    return _TEMPLATE.format(debit=ledger.stake_debit_sql(user="%(user)s", amount="%(net_debit)s"),
                            order=_NEW_ORDER if new_order else _CLAIMED_ORDER, entries="\n".join(entries))


def leg_params(amounts: dict[str, int], memos: dict[str, str]) -> tuple[tuple[str, ...], dict]:
    """The legs present, in booking order, with their amounts (signed), memos and the balance after
    each, expressed as an offset from the balance after the whole move."""
    legs = tuple(leg for leg, _ in LEGS if amounts.get(leg))
    params: dict = {}
    remaining = sum(amounts[leg] for leg in legs)
    for leg in legs:
        remaining -= amounts[leg]
        params[f"amount_{leg}"] = amounts[leg]
        params[f"after_{leg}"] = -remaining  # the balance after this leg = final − the legs still to come
        params[f"memo_{leg}"] = memos.get(leg, "")[:ledger.MEMO_MAX]
    params["net_debit"] = -sum(amounts[leg] for leg in legs)
    return legs, params
