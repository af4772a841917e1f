"""Inside a trade's transaction: the locked market, one fill written, the stops it sets off.

Callers (apps.markets.services) open the transaction and lock in the one order: the market row
(``lock_market``, SELECT … FOR UPDATE), then the positions it touches, then the points accounts
(through apps.points.ledger). Every write to a market's trades, positions and stops happens
under its row lock, so trades of one market run one at a time and see each other whole.

``write_fill`` writes what ``pricing.fill_for`` computed, nothing else, in one prepared
statement built from the ledger's own pieces: the account moved by the fill's net cash (a
conditional debit), the ledger entries, the position, the trade appended to the market's ledger
with its sequence number and the state after it, and the market's new state — all of it, or
nothing when the balance cannot pay.

``run_stops`` runs the stop-losses the trade crossed, in the same transaction: each level takes
every active stop whose trigger the current price has reached (highest first for longs) and
executes each one that is still past its trigger as a market order (a sale of the position, or
a buy-back of a short); the next level looks again at the price the level left. After
MARKET_STOP_MAX_DEPTH levels, stops still crossed are marked failed rather than left to fire late.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection

from apps.core.db import prepared_cursor
from apps.markets import errors
from apps.markets.models import Market, MarketTrade, Stop
from apps.markets.amm.numeric import nearest
from apps.markets.pricing import Fill, Order, fill_for
from apps.markets.state import columns_of, module_of, state_of, to_json
from apps.points import ledger
from apps.points.models import LedgerEntry

Kind = LedgerEntry.Kind


@dataclass
class Book:
    """The locked market during one transaction: its row, its current mechanism state and what
    the transaction has written so far (for the events sent after commit)."""

    market: Market
    state: object
    trades: list[MarketTrade] = field(default_factory=list)
    stops_fired: list[tuple[int, int, str]] = field(default_factory=list)  # (stop id, owner, new state)
    # The balance each player the fills moved is shown after them, as the fill statement read it
    # (the account row stays locked until the commit, so it is the balance after the commit).
    balances: dict[int, int] = field(default_factory=dict)


_LOCK_SQL = "SELECT * FROM markets_market WHERE id = %s FOR UPDATE"


def lock_market(market_id: int) -> Book:
    """SELECT … FOR UPDATE of the market row: every trade of the market waits here for the one
    before it to commit, and then reads the row as that trade left it."""
    market = next(iter(Market.objects.raw(_LOCK_SQL, [market_id])), None)
    if market is None:
        raise errors.not_found(market_id)
    return Book(market=market, state=state_of(market))


_POSITION_SQL = """
SELECT shares, collateral, cost FROM markets_position
WHERE market_id = %s AND user_id = %s AND outcome = %s FOR UPDATE
"""

# A trade's lock: the columns a trade reads (the rest of the row stays deferred), and the
# player's position in the outcome, locked after it. Casts: both are prepared on the server.
_TRADE_NEEDS = {"id", "question", "mechanism", "state", "outcomes", "pool_yes", "pool_no", "p", "pool_floor", "q", "b",
                "supply", "curve", "fee_pct", "seq", "volume", "fees", "active_stops", "closes_at"}
_TRADE_COLUMNS = tuple(f.attname for f in Market._meta.concrete_fields if f.attname in _TRADE_NEEDS)  # from_db's order
_TRADE_LOCK_SQL = f"SELECT {', '.join(_TRADE_COLUMNS)} FROM markets_market WHERE id = %s::bigint FOR UPDATE"
_TRADE_POSITION_SQL = """
SELECT shares, collateral, cost FROM markets_position
WHERE market_id = %s::bigint AND user_id = %s::bigint AND outcome = %s::smallint FOR UPDATE
"""
_CURVE = _TRADE_COLUMNS.index("curve")


def lock_for_trade(market_id: int, user_id: int, outcome: int) -> tuple[Book, Held]:
    """``lock_market`` and ``position_locked`` for a trade, in one round trip: the two statements
    go out together (psycopg's pipeline) and run in turn, the position's read after the market's
    lock is held (each statement reads with a snapshot of its own, taken when it starts). An
    outcome no market has is not looked up (the fill refuses it)."""
    with prepared_cursor() as lock, prepared_cursor() as position:
        with connection.wrap_database_errors, connection.connection.pipeline():
            lock.execute(_TRADE_LOCK_SQL, [market_id])
            if 0 <= outcome < 2 ** 15:
                position.execute(_TRADE_POSITION_SQL, [market_id, user_id, outcome])
        values = lock.fetchone()
        row = position.fetchone() if 0 <= outcome < 2 ** 15 else None
    if values is None:
        raise errors.not_found(market_id)
    if values[_CURVE] is not None:  # jsonb arrives as text (Django's loader); from_db does not convert
        values = (*values[:_CURVE], json.loads(values[_CURVE]), *values[_CURVE + 1:])
    market = Market.from_db(DEFAULT_DB_ALIAS, _TRADE_COLUMNS, values)
    held = NO_POSITION if row is None else Held(row[0], int(row[1]), int(row[2]))
    return Book(market=market, state=state_of(market)), held


@dataclass(frozen=True)
class Held:
    shares: Decimal
    collateral: int
    cost: int


NO_POSITION = Held(Decimal(0), 0, 0)


def position_locked(cursor, *, market_id: int, user_id: int, outcome: int) -> Held:
    cursor.execute(_POSITION_SQL, [market_id, user_id, outcome])
    row = cursor.fetchone()
    return NO_POSITION if row is None else Held(row[0], int(row[1]), int(row[2]))


def fill_order(book: Book, held: Held, order: Order) -> Fill:
    market = book.market
    return fill_for(mechanism=market.mechanism, state=book.state, outcomes=len(market.outcomes),
                    fee_pct=market.fee_pct, order=order, position=held.shares, collateral=held.collateral)


def _entries(fill: Fill) -> list[tuple[int, str, str]]:
    """(signed amount, kind, key suffix) of the fill's ledger entries, credits first."""
    credits, debits = [], []
    if fill.order.side == "sell":
        credits.append((fill.points, Kind.MARKET_SELL, "sell"))
    elif fill.points:
        debits.append((-fill.points, Kind.MARKET_BUY, "buy"))
    if fill.collateral < 0:
        credits.append((-fill.collateral, Kind.COLLATERAL_RELEASE, "release"))
    elif fill.collateral > 0:
        debits.append((-fill.collateral, Kind.COLLATERAL_LOCK, "lock"))
    if fill.fee:
        debits.append((-fill.fee, Kind.MARKET_FEE, "fee"))
    return credits + debits


@functools.cache
def _fill_sql(entries: int, mechanism: str) -> str:
    """One statement writing a fill: the player's account moved by the fill's net cash (the
    ledger's conditional debit: no row when the balance cannot pay, or the player is no longer
    active), one ledger entry per part (each ``balance_after`` the balance after the entries
    before it), the position, the trade row and the market's new state. Every part selects from
    the debit, so when it matches no row nothing at all is written. Parameters carry casts: the
    statement is prepared on the server (apps.core.db.prepared_cursor), once per connection."""
    debit = ledger.stake_debit_sql(
        user="%(user)s::bigint", amount="%(debit)s::bigint",
        also_where="\n      AND EXISTS (SELECT 1 FROM accounts_user u WHERE u.id = %(user)s::bigint AND u.is_active)")
    parts = [f"debit AS (\n    {debit}\n)"]
    for i in range(entries):
        entry = ledger.entry_insert_sql(user="%(user)s::bigint", amount=f"%(amount{i})s::bigint",
                                        kind=f"%(kind{i})s::text", key=f"%(key{i})s::text",
                                        balance_after=f"debit.balance - %(after{i})s::bigint", memo="%(memo)s::text",
                                        created_at="%(now)s::timestamptz", from_="debit")
        parts.append(f"entry{i} AS (\n    {entry}\n)")
    parts.append("""position AS (
    INSERT INTO markets_position (market_id, user_id, outcome, shares, collateral, cost, updated_at)
    SELECT %(market)s::bigint, %(user)s::bigint, %(outcome)s::smallint, %(shares_after)s::numeric,
           %(collateral_after)s::bigint, %(cost_after)s::bigint, %(now)s::timestamptz
    FROM debit
    ON CONFLICT (market_id, user_id, outcome) DO UPDATE
    SET shares = EXCLUDED.shares, collateral = EXCLUDED.collateral, cost = EXCLUDED.cost, updated_at = EXCLUDED.updated_at
    RETURNING id
)""")
    parts.append("""trade AS (
    INSERT INTO markets_markettrade (market_id, seq, user_id, kind, outcome, amount, shares, cost, points, fee,
                                     collateral, cash, position_after, prob_before, prob_after, state_after, stop_id,
                                     trigger_id, depth, idempotency_key, created_at)
    SELECT %(market)s::bigint, %(seq)s::bigint, %(user)s::bigint, %(side)s::text, %(outcome)s::smallint,
           %(amount)s::bigint, %(shares)s::numeric, %(cost)s::numeric, %(points)s::bigint, %(fee)s::bigint,
           %(collateral)s::bigint, %(cash)s::bigint, %(shares_after)s::numeric, %(prob_before)s::numeric[],
           %(prob_after)s::numeric[], %(state_after)s::jsonb, %(stop)s::bigint, %(trigger)s::bigint,
           %(depth)s::smallint, %(idempotency_key)s::text, %(now)s::timestamptz
    FROM debit
    RETURNING id
)""")
    kind = "numeric[]" if mechanism == "lmsr" else "numeric"
    state_columns = ", ".join(f"{column} = %(state_{column})s::{kind}" for column in _STATE_COLUMNS[mechanism])
    parts.append(f"""market AS (
    UPDATE markets_market SET seq = %(seq)s::bigint, volume = volume + %(points)s::bigint,
           fees = fees + %(fee)s::bigint, {state_columns}
    WHERE id = %(market)s::bigint AND EXISTS (SELECT 1 FROM debit)
    RETURNING id
)""")
    return "WITH " + ",\n".join(parts) + "\nSELECT (SELECT balance FROM debit), (SELECT id FROM trade), " \
        "(SELECT COUNT(*) FROM position), (SELECT COUNT(*) FROM market), (SELECT shown_balance FROM debit)"


# The market columns a trade changes, per mechanism (the curve's shape and floor never do).
_STATE_COLUMNS = {"cpmm": ("pool_yes", "pool_no"), "lmsr": ("q",), "sigmoid": ("supply",)}


def write_fill(cursor, book: Book, *, user_id: int, held: Held, fill: Fill, now: datetime, key: str | None = None,
               stop_id: int | None = None, trigger_id: int | None = None, depth: int = 0,
               commit: bool = False) -> MarketTrade:
    """Write one fill in one statement (``_fill_sql``); the book moves to its state. Raises
    ledger.InsufficientPoints when the player's balance cannot pay it (nothing written).

    ``commit``: the fill is the transaction's last write (a trade on a market without active
    stops, in the caller's own outermost atomic block): COMMIT goes out with the statement, in the
    same round trip, so the market's row lock is released one round trip sooner. Django's atomic
    block then finds the transaction ended (psycopg's commit on an idle connection sends nothing)
    and runs the on-commit hooks as usual. A failed statement aborts the pipeline before the
    COMMIT (the block rolls back); a debit that matched no row wrote nothing, so its COMMIT
    commits nothing."""
    market = book.market
    seq = market.seq + 1
    side = fill.order.side
    entries = _entries(fill)
    verb = "bought" if side == "buy" else "sold"
    params = {"user": user_id, "debit": -fill.cash, "now": now, "market": market.pk, "seq": seq, "side": side,
              "memo": f"Market {market.pk}: {verb} {fill.shares.normalize():f} {market.outcomes[fill.order.outcome]}",
              "outcome": fill.order.outcome, "amount": fill.order.amount, "shares": fill.shares, "cost": fill.cost,
              "points": fill.points, "fee": fill.fee, "collateral": fill.collateral, "cash": fill.cash,
              "shares_after": fill.position_after, "collateral_after": held.collateral + fill.collateral,
              "cost_after": held.cost - fill.cash, "prob_before": [nearest(p) for p in fill.prob_before],
              "prob_after": [nearest(p) for p in fill.prob_after],
              "state_after": json.dumps(state_after := to_json(market.mechanism, fill.state)), "stop": stop_id,
              "trigger": trigger_id, "depth": depth, "idempotency_key": key}
    after = 0  # each entry's balance_after: the final balance less the entries that follow it
    for i, (amount, kind, suffix) in reversed(list(enumerate(entries))):
        params.update({f"amount{i}": amount, f"kind{i}": kind, f"key{i}": f"mkt:{market.pk}:{seq}:{suffix}",
                       f"after{i}": after})
        after += amount
    columns = columns_of(market.mechanism, fill.state)
    params.update({f"state_{c}": columns[c] for c in _STATE_COLUMNS[market.mechanism]})
    with prepared_cursor() as prepared:  # planned once per connection: the CTE's planning outweighs its work
        if commit:
            with connection.wrap_database_errors, connection.connection.pipeline():
                prepared.execute(_fill_sql(len(entries), market.mechanism), params)
                connection.connection.execute("COMMIT")
        else:
            prepared.execute(_fill_sql(len(entries), market.mechanism), params)
        balance, trade_id, _, _, shown_balance = prepared.fetchone()
    if balance is None:
        _refusal(cursor, user_id, -fill.cash)
    book.balances[user_id] = int(shown_balance)  # the player's /ws/me/ hears it after the commit
    trade = MarketTrade(pk=trade_id, market_id=market.pk, seq=seq, user_id=user_id, kind=side,
                        outcome=fill.order.outcome, amount=fill.order.amount, shares=fill.shares, cost=fill.cost,
                        points=fill.points, fee=fill.fee, collateral=fill.collateral, cash=fill.cash,
                        position_after=fill.position_after, prob_before=params["prob_before"],
                        prob_after=params["prob_after"], state_after=state_after,
                        stop_id=stop_id, trigger_id=trigger_id, depth=depth, idempotency_key=key, created_at=now)
    trade._state.adding = False
    market.seq = seq
    market.volume += fill.points
    market.fees += fill.fee
    book.state = fill.state
    book.trades.append(trade)
    return trade


def _refusal(cursor, user_id: int, needed: int):
    """Why the conditional debit matched no row: a deactivated player, or too few points."""
    cursor.execute("SELECT a.balance, u.is_active FROM points_pointsaccount a JOIN accounts_user u ON u.id = a.user_id "
                   "WHERE a.user_id = %s", [user_id])
    row = cursor.fetchone()
    if row is not None and not row[1]:
        raise errors.forbidden("This account is deactivated; it cannot trade.")
    raise ledger.InsufficientPoints(int(row[0]) if row else 0, needed)


def save_market(book: Book, active_stops_before: int) -> None:
    """The one market column the fills did not write: the active stop count, when stops fired."""
    if book.market.active_stops != active_stops_before:
        Market.objects.filter(pk=book.market.pk).update(active_stops=book.market.active_stops)


# --------------------------------------------------------------------------- stops


def _crossed_sql(probabilities: tuple[Decimal, ...]) -> tuple[str, list]:
    clauses, params = [], []
    for outcome, price in enumerate(probabilities):
        clauses.append("(outcome = %s AND ((direction = 'below' AND trigger >= %s) OR "
                       "(direction = 'above' AND trigger <= %s)))")
        params += [outcome, price, price]
    return " OR ".join(clauses), params


def _claim_crossed(cursor, book: Book) -> list[tuple]:
    """Active stops the current price has reached, in the order they were crossed."""
    probabilities = module_of(book.market.mechanism).probabilities(book.state)
    where, params = _crossed_sql(probabilities)
    cursor.execute(f"""
        SELECT id, user_id, outcome, direction, shares, trigger FROM markets_stop
        WHERE market_id = %s AND state = 'active' AND ({where})
        ORDER BY (CASE WHEN direction = 'below' THEN -trigger ELSE trigger END), id
    """, [book.market.pk, *params])
    return cursor.fetchall()


_CLOSE_STOPS_SQL = """
UPDATE markets_stop s SET state = c.state, reason = c.reason, fired_at = %s, execution_id = c.execution
FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::bigint[]) AS c(id, state, reason, execution)
WHERE s.id = c.id
"""


def _close_stops(cursor, book: Book, closed: list[tuple[int, int, str, str, int | None]], now: datetime) -> None:
    """One UPDATE for a level's stops: (stop id, owner, new state, reason, execution trade)."""
    if not closed:
        return
    cursor.execute(_CLOSE_STOPS_SQL, [now, [c[0] for c in closed], [c[2] for c in closed],
                                      [c[3][:200] for c in closed], [c[4] for c in closed]])
    book.market.active_stops -= len(closed)
    book.stops_fired.extend((stop_id, owner, state) for stop_id, owner, state, _, _ in closed)


def _execute_stop(cursor, book: Book, stop: tuple, held: Held, root: MarketTrade, level: int,
                  now: datetime) -> tuple[tuple, Held]:
    """Execute one crossed stop as a market order; (how it closed, the owner's position after).
    A refusal writes nothing (the price is computed before any write, and the write is one
    statement that writes everything or nothing), so no savepoint is needed."""
    stop_id, owner, outcome, direction, stop_shares, _ = stop
    if direction == Stop.Direction.BELOW:
        quantity, side = (min(stop_shares or held.shares, held.shares) if held.shares > 0 else 0), "sell"
    else:
        quantity, side = (min(stop_shares or -held.shares, -held.shares) if held.shares < 0 else 0), "buy"
    if quantity <= 0:
        return (stop_id, owner, Stop.State.CANCELLED, "no position left to close", None), held
    try:
        fill = fill_order(book, held, Order(outcome=outcome, side=side, shares=quantity))
        trade = write_fill(cursor, book, user_id=owner, held=held, fill=fill, now=now, stop_id=stop_id,
                           trigger_id=root.pk, depth=level)
    except errors.MarketRefused as exc:
        return (stop_id, owner, Stop.State.FAILED, str(exc.detail), None), held
    except ledger.InsufficientPoints as exc:
        return (stop_id, owner, Stop.State.FAILED, str(exc), None), held
    after = Held(fill.position_after, held.collateral + fill.collateral, held.cost - fill.cash)
    return (stop_id, owner, Stop.State.EXECUTED, "", trade.pk), after


def _still_crossed(book: Book, stop: tuple) -> bool:
    _, _, outcome, direction, _, trigger = stop
    price = module_of(book.market.mechanism).probabilities(book.state)[outcome]
    return price <= trigger if direction == Stop.Direction.BELOW else price >= trigger


_LEVEL_POSITIONS_SQL = """
SELECT user_id, outcome, shares, collateral, cost FROM markets_position
WHERE market_id = %s AND user_id = ANY(%s) ORDER BY user_id, outcome FOR UPDATE
"""


def run_stops(cursor, book: Book, root: MarketTrade, now: datetime) -> int:
    """Execute, inside this transaction, every stop the trade ``root`` crossed and the stops
    those executions cross in turn, up to MARKET_STOP_MAX_DEPTH levels. Returns the levels run."""
    level = 0
    while book.market.active_stops > 0:
        crossed = _claim_crossed(cursor, book)
        if not crossed:
            break
        if level == settings.MARKET_STOP_MAX_DEPTH:
            reason = f"the cascade reached its limit of {level} levels"
            _close_stops(cursor, book, [(s[0], s[1], Stop.State.FAILED, reason, None) for s in crossed], now)
            break
        level += 1
        # Lock order: this level's positions (read once, kept up to date here), then its owners'
        # accounts, each in id order.
        owners = sorted({s[1] for s in crossed})
        cursor.execute(_LEVEL_POSITIONS_SQL, [book.market.pk, owners])
        positions = {(u, o): Held(shares, int(collateral), int(cost)) for u, o, shares, collateral, cost in cursor}
        ledger.lock_accounts(cursor, user_ids=owners)
        closed = []
        for stop in crossed:
            if not _still_crossed(book, stop):
                continue  # a sale before it in this level moved the price back: it stays active
            key = (stop[1], stop[2])
            outcome, positions[key] = _execute_stop(cursor, book, stop, positions.get(key, Held(Decimal(0), 0, 0)),
                                                    root, level, now)
            closed.append(outcome)
        _close_stops(cursor, book, closed, now)
    return level
