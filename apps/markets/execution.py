"""Inside a trade's transaction: the locked market, one fill written, the stops it sets off.

Callers (apps.markets.services) open the transaction and lock in the one order: the market row
(``lock_market``, SELECT … FOR UPDATE), then the positions it touches, then the points accounts
(through apps.points.ledger). Every write to a market's trades, positions and stops happens
under its row lock, so trades of one market run one at a time and see each other whole.

``write_fill`` writes what ``pricing.fill_for`` computed, nothing else: the ledger entries
(credits first, so a sale's fee never fails for want of points), the position, and the trade
appended to the market's ledger with its sequence number and the state after it.

``run_stops`` runs the stop-losses the trade crossed, in the same transaction: each level takes
every active stop whose trigger the current price has reached (highest first for longs), executes
it as a market order (a sale of the position, or a buy-back of a short) in a savepoint of its
own, and the next level looks again at the price the level left. After MARKET_STOP_MAX_DEPTH
levels, stops still crossed are marked failed rather than left to fire late.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction

from apps.markets import errors
from apps.markets.models import Market, MarketTrade, Stop
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


def lock_market(market_id: int) -> Book:
    market = Market.objects.select_for_update(of=("self",)).filter(pk=market_id).first()
    if market is None:
        raise errors.not_found(market_id)
    return Book(market=market, state=state_of(market))


_POSITION_SQL = """
SELECT shares, collateral, cost FROM markets_position
WHERE market_id = %s AND user_id = %s AND outcome = %s FOR UPDATE
"""
_UPSERT_SQL = """
INSERT INTO markets_position (market_id, user_id, outcome, shares, collateral, cost, updated_at)
VALUES (%(market)s, %(user)s, %(outcome)s, %(shares)s, %(collateral)s, %(cost)s, now())
ON CONFLICT (market_id, user_id, outcome) DO UPDATE
SET shares = EXCLUDED.shares, collateral = EXCLUDED.collateral, cost = EXCLUDED.cost, updated_at = now()
"""


@dataclass(frozen=True)
class Held:
    shares: Decimal
    collateral: int
    cost: int


def position_locked(cursor, *, market_id: int, user_id: int, outcome: int) -> Held:
    cursor.execute(_POSITION_SQL, [market_id, user_id, outcome])
    row = cursor.fetchone()
    return Held(Decimal(0), 0, 0) if row is None else Held(row[0], int(row[1]), int(row[2]))


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


def write_fill(cursor, book: Book, *, user_id: int, held: Held, fill: Fill, now: datetime, key: str | None = None,
               stop_id: int | None = None, trigger_id: int | None = None, depth: int = 0) -> MarketTrade:
    """Write one fill: ledger entries, position, the trade row; the book moves to its state.
    Raises ledger.InsufficientPoints (the caller's savepoint or transaction undoes the rest)."""
    market = book.market
    seq = market.seq + 1
    side = fill.order.side
    verb = "bought" if side == "buy" else "sold"
    memo = f"Market {market.pk}: {verb} {fill.shares.normalize():f} {market.outcomes[fill.order.outcome]}"
    for amount, kind, suffix in _entries(fill):
        ledger.post(user_id=user_id, amount=amount, kind=kind, key=f"mkt:{market.pk}:{seq}:{suffix}", memo=memo)
    cursor.execute(_UPSERT_SQL, {"market": market.pk, "user": user_id, "outcome": fill.order.outcome,
                                 "shares": fill.position_after, "collateral": held.collateral + fill.collateral,
                                 "cost": held.cost - fill.cash})
    trade = MarketTrade.objects.create(
        market_id=market.pk, seq=seq, user_id=user_id, kind=side, outcome=fill.order.outcome,
        amount=fill.order.amount, shares=fill.shares, cost=fill.cost, points=fill.points, fee=fill.fee,
        collateral=fill.collateral, cash=fill.cash, position_after=fill.position_after,
        prob_before=list(fill.prob_before), prob_after=list(fill.prob_after),
        state_after=to_json(market.mechanism, fill.state), stop_id=stop_id, trigger_id=trigger_id, depth=depth,
        idempotency_key=key, created_at=now)
    market.seq = seq
    market.volume += fill.points
    market.fees += fill.fee
    book.state = fill.state
    book.trades.append(trade)
    return trade


def save_market(book: Book) -> None:
    market = book.market
    Market.objects.filter(pk=market.pk).update(seq=market.seq, volume=market.volume, fees=market.fees,
                                               active_stops=market.active_stops,
                                               **columns_of(market.mechanism, book.state))


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
        SELECT id, user_id, outcome, direction, shares FROM markets_stop
        WHERE market_id = %s AND state = 'active' AND ({where})
        ORDER BY (CASE WHEN direction = 'below' THEN -trigger ELSE trigger END), id
    """, [book.market.pk, *params])
    return cursor.fetchall()


def _close_stop(book: Book, stop_id: int, owner: int, state: str, now: datetime, *, reason: str = "",
                execution: int | None = None) -> None:
    Stop.objects.filter(pk=stop_id).update(state=state, reason=reason[:200], fired_at=now, execution_id=execution)
    book.market.active_stops -= 1
    book.stops_fired.append((stop_id, owner, state))


def _execute_stop(cursor, book: Book, stop: tuple, root: MarketTrade, level: int, now: datetime) -> None:
    stop_id, owner, outcome, direction, stop_shares = stop
    held = position_locked(cursor, market_id=book.market.pk, user_id=owner, outcome=outcome)
    if direction == Stop.Direction.BELOW:
        quantity, side = (min(stop_shares or held.shares, held.shares), "sell") if held.shares > 0 else (0, "sell")
    else:
        quantity, side = (min(stop_shares or -held.shares, -held.shares), "buy") if held.shares < 0 else (0, "buy")
    if quantity <= 0:
        _close_stop(book, stop_id, owner, Stop.State.CANCELLED, now, reason="no position left to close")
        return
    try:
        with transaction.atomic():
            fill = fill_order(book, held, Order(outcome=outcome, side=side, shares=quantity))
            trade = write_fill(cursor, book, user_id=owner, held=held, fill=fill, now=now, stop_id=stop_id,
                               trigger_id=root.pk, depth=level)
    except errors.MarketRefused as exc:
        _close_stop(book, stop_id, owner, Stop.State.FAILED, now, reason=str(exc.detail))
        return
    except ledger.InsufficientPoints as exc:
        _close_stop(book, stop_id, owner, Stop.State.FAILED, now, reason=str(exc))
        return
    _close_stop(book, stop_id, owner, Stop.State.EXECUTED, now, execution=trade.pk)


def run_stops(cursor, book: Book, root: MarketTrade, now: datetime) -> int:
    """Execute, inside this transaction, every stop the trade ``root`` crossed and the stops
    those executions cross in turn, up to MARKET_STOP_MAX_DEPTH levels. Returns the levels run."""
    level = 0
    while book.market.active_stops > 0:
        crossed = _claim_crossed(cursor, book)
        if not crossed:
            break
        if level == settings.MARKET_STOP_MAX_DEPTH:
            for stop_id, owner, *_ in crossed:
                _close_stop(book, stop_id, owner, Stop.State.FAILED, now,
                            reason=f"the cascade reached its limit of {level} levels")
            break
        level += 1
        # Lock order: this level's positions, then its owners' accounts, each in id order.
        owners = sorted({s[1] for s in crossed})
        cursor.execute("SELECT id FROM markets_position WHERE market_id = %s AND user_id = ANY(%s) "
                       "ORDER BY user_id, outcome FOR UPDATE", [book.market.pk, owners])
        ledger.lock_accounts(cursor, user_ids=owners)
        for stop in crossed:
            _execute_stop(cursor, book, stop, root, level, now)
    return level
