"""Resting orders at work: stops triggering, triggered and crossed orders filling, shorts bought
in, day orders expiring. Called by the market-data worker's trading executor
(apps/trading/triggers.py) with what the trigger index returned, and by Celery (expiry).

Every step is a conditional UPDATE on the order's status, so anything that arrives twice (a
duplicated trigger, a stale index member, a restarted worker) finds the order already moved
and does nothing. A fill and its claim are one transaction.
"""
from __future__ import annotations

import enum
import logging
from datetime import datetime, timezone
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Now

from apps.core.events import user_event_on_commit
from apps.points.ledger import InsufficientPoints
from apps.trading import index
from apps.trading.execution import LockedPosition, fill_order
from apps.trading.market import MarketState, market_state
from apps.trading.models import Order
from apps.trading.notify import order_closed_event
from apps.trading.rules import OrderRefused, below_maintenance, buy_in_price_of, fill_price

log = logging.getLogger("stockrace.trading")
S, T = Order.Status, Order.Type


class Outcome(enum.Enum):
    FILLED = "filled"
    WAITING = "waiting"  # locked, stale, not crossed (any more): stays resting
    GONE = "gone"  # not resting any more (cancelled, filled, expired): nothing to do
    REJECTED = "rejected"


def _tradable_now(state: MarketState) -> bool:
    return (state.lock is None and state.quote is not None and state.feed_connected
            and state.age <= settings.TRADE_MAX_QUOTE_AGE_SECONDS)


def _on_commit_safely(fn, *args, **kwargs) -> None:
    def run():
        try:
            fn(*args, **kwargs)
        except Exception:  # noqa: BLE001 - after commit: the index is a hint, index_sync heals it
            log.exception("trigger index not updated: %s", fn.__name__)
    transaction.on_commit(run)


# --------------------------------------------------------------------------- stops triggering

_TRIGGER_SQL = """
UPDATE trading_order o
SET status = 'triggered', triggered_at = now(), trigger_price = t.price, updated_at = now()
FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::numeric[]) AS price) t
WHERE o.id = t.id AND o.status = 'open' AND o.type IN ('stop', 'stop_limit')
RETURNING o.id, o.symbol, o.side, o.type, o.limit_price
"""


def stops_trigger(*, triggered: list[tuple[int, Decimal]], client) -> list[int]:
    """Mark stops triggered at the last trade that crossed them (one statement), then index them:
    a stop waits in the triggered set for the next quote, a stop-limit rests as a limit."""
    if not triggered:
        return []
    ids = [order_id for order_id, _ in triggered]
    prices = [price for _, price in triggered]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_TRIGGER_SQL, [ids, prices])
        rows = cursor.fetchall()

        def reindex():
            pipe = client.pipeline(transaction=False)
            for order_id, symbol, side, order_type, limit in rows:
                index.order_add(client, order_id=order_id, symbol=symbol, side=side, order_type=order_type,
                                status=S.TRIGGERED, limit=limit, stop=None, pipe=pipe)
            pipe.execute()
        _on_commit_safely(reindex)
    return [row[0] for row in rows]


# --------------------------------------------------------------------------- fills


def resting_fill(*, order_id: int, symbol: str, client, state: MarketState | None = None) -> Outcome:
    """Fill a triggered stop, or a limit the quote crossed, at the quote of this moment.

    The claim is ``UPDATE ... WHERE status = <the status we read>``: a cancel or a second
    trigger that got there first leaves it with 0 rows, and nothing fills.
    """
    order = Order.objects.filter(pk=order_id).first()
    if order is None or order.status not in Order.RESTING:
        _on_commit_safely(index.order_remove, client, order_id=order_id, symbol=symbol)
        return Outcome.GONE
    state = state or market_state(order.symbol, client)
    if not _tradable_now(state):
        return Outcome.WAITING  # a lock lifts, a quote comes: the next batch brings it back
    if order.expires_at is not None and order.expires_at.timestamp() <= state.now:
        day_orders_expire(order_ids=[order.pk])
        return Outcome.GONE
    quote = state.view()
    price = fill_price(is_buy=order.is_buy, order_type=order.type, limit=order.limit_price, stop=order.stop_price,
                       triggered=order.status == S.TRIGGERED, quote=quote)
    if price is None or (order.type in (T.STOP, T.STOP_LIMIT) and order.status == S.OPEN):
        # Not crossed any more, or a stop not yet marked triggered (its trigger comes first):
        # make sure it is back where its state says.
        _on_commit_safely(index.order_add, client, order_id=order.pk, symbol=order.symbol, side=order.side,
                          order_type=order.type, status=order.status, limit=order.limit_price, stop=order.stop_price)
        return Outcome.WAITING
    seen = order.status
    now = datetime.fromtimestamp(state.now, timezone.utc)
    try:
        with transaction.atomic():
            claimed = Order.objects.filter(
                Q(expires_at__isnull=True) | Q(expires_at__gt=now), pk=order.pk, status=seen,
            ).update(status=S.FILLED, closed_at=now, updated_at=Now())
            if claimed != 1:
                return Outcome.GONE
            order.status, order.closed_at = S.FILLED, now
            fill_order(order=order, quote=quote, price=price, quote_ts=state.quote.ts, notify=True)
    except (OrderRefused, InsufficientPoints) as refusal:
        order_reject(order_id=order.pk, seen=seen, reason=_reason(refusal), client=client)
        return Outcome.REJECTED
    return Outcome.FILLED


def _reason(refusal: Exception) -> str:
    text = refusal.message if isinstance(refusal, OrderRefused) else str(refusal)
    return f"Not filled when it triggered: {text}"[:200]


def order_reject(*, order_id: int, seen: str, reason: str, client) -> bool:
    """A resting order that could not fill when its price came: rejected, with the reason."""
    with transaction.atomic():
        done = Order.objects.filter(pk=order_id, status=seen).update(status=S.REJECTED, reason=reason,
                                                                     closed_at=Now(), updated_at=Now())
        if done:
            order = Order.objects.get(pk=order_id)
            _on_commit_safely(index.order_remove, client, order_id=order_id, symbol=order.symbol)
            user_event_on_commit(order.user_id, order_closed_event(order, event="order_rejected",
                                                                   title="Order not filled"), background=True)
    return bool(done)


# --------------------------------------------------------------------------- buy-ins

_POSITION_FOR_UPDATE = """
SELECT id, user_id, symbol, quantity, avg_cost, collateral, opened_at FROM trading_position WHERE id = %s FOR UPDATE
"""


def short_buy_in(*, position_id: int, symbol: str, client, state: MarketState | None = None) -> Outcome:
    """Buy in a short whose collateral fell below TRADE_SHORT_MAINTENANCE_PCT of its value, with
    a market buy-to-cover through the same fill path as any order (logged, and the player told).

    Lock order: the position first (it decides whether there is anything to do), then the new
    order row, then the points account; nobody else can hold the new row, so this stays
    deadlock-free beside the order → position → account order of every other fill.
    """
    state = state or market_state(symbol, client)
    if not _tradable_now(state):
        return Outcome.WAITING
    quote = state.view()
    maintenance = settings.TRADE_SHORT_MAINTENANCE_PCT
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_POSITION_FOR_UPDATE, [position_id])
            row = cursor.fetchone()
        if row is None or row[3] >= 0:
            _on_commit_safely(index.short_set, client, position_id=position_id, symbol=symbol, buy_in_price=None)
            return Outcome.GONE
        pid, user_id, symbol, quantity, avg_cost, collateral, opened_at = row
        if not below_maintenance(quantity=quantity, collateral=collateral, last=quote.last, maintenance_pct=maintenance):
            _on_commit_safely(index.short_set, client, position_id=pid, symbol=symbol,
                              buy_in_price=buy_in_price_of(quantity, collateral, maintenance))
            return Outcome.WAITING
        value = (-quantity * quote.last).quantize(Decimal("0.01"))
        reason = (f"Bought in: collateral {collateral} points was below {maintenance}% of the short's value "
                  f"{value:f} at {quote.last:f}.")
        order = Order(user_id=user_id, symbol=symbol, side=Order.Side.BUY_TO_COVER, type=T.MARKET,
                      quantity=-quantity, source=Order.Source.BUY_IN, reason=reason)
        fill = fill_order(order=order, quote=quote, price=quote.ask, quote_ts=state.quote.ts,
                          position=LockedPosition(pid, quantity, avg_cost, collateral, opened_at), forced=True,
                          notify=True, new=True)
    log.warning("buy-in: user %s %s short %s at %s (collateral %s, order %s, shortfall %s)", user_id, symbol,
                quantity, fill.price, collateral, order.pk, fill.shortfall)
    return Outcome.FILLED


# --------------------------------------------------------------------------- expiry

_EXPIRE_SQL = """
UPDATE trading_order
SET status = 'expired', closed_at = now(), updated_at = now(),
    reason = 'A day order: it expired at the close of the session.'
WHERE status IN ('open', 'triggered') AND expires_at <= now() {extra}
RETURNING id
"""


def day_orders_expire(*, order_ids: list[int] | None = None) -> int:
    """Expire resting day orders whose session has closed (all, or those of ``order_ids``)."""
    from apps.core.redis import get_redis

    extra, params = ("AND id = ANY(%s)", [list(order_ids)]) if order_ids else ("", [])
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_EXPIRE_SQL.format(extra=extra), params)
            ids = [row[0] for row in cursor.fetchall()]
        if ids:
            orders = list(Order.objects.filter(pk__in=ids))
            client = get_redis()

            def reindex():
                pipe = client.pipeline(transaction=False)
                for order in orders:
                    index.order_remove(client, order_id=order.pk, symbol=order.symbol, pipe=pipe)
                pipe.execute()
            _on_commit_safely(reindex)
            for order in orders:
                user_event_on_commit(order.user_id, order_closed_event(order, event="order_expired",
                                                                       title="Order expired"), background=True)
    return len(ids)
