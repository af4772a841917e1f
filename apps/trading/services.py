"""What a player does on the trading floor: place an order (or preview it), cancel one, open the
live portfolio. Resting orders are worked by apps/trading/resting.py.

A market order (or a limit or stop that is already marketable) fills inside the request, in the
transaction that inserts it; any refusal rolls it back, so a refused order leaves nothing behind.
Resting orders are committed, then indexed in Redis for the market-data worker.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models.functions import Now

from apps.core.inputs import bad_text
from apps.core.redis import get_redis
from apps.points.ledger import InsufficientPoints
from apps.trading import index
from apps.trading.calendar import day_order_expiry
from apps.trading.execution import LockedPosition, fill_order, plan_for
from apps.trading.market import MarketState, check_rate, check_tradable, market_state
from apps.trading.models import Order, Position
from apps.trading.rules import OrderRefused, OrderSpec, QuoteView, fill_price, stop_triggered
from apps.trading.selectors import balance_of, symbol_is_listed

log = logging.getLogger("stockrace.trading")
S, T = Order.Status, Order.Type
VIEWERS_KEY = "trd:viewers"
KEY_MAX = 120


def _clean_key(raw: str | None) -> str | None:
    if raw is None or raw == "":
        return None
    if len(raw) > KEY_MAX or bad_text(raw):
        raise OrderRefused("invalid", f"The Idempotency-Key header is 1 to {KEY_MAX} printable characters.",
                           status=400, fields={"Idempotency-Key": ["Use a UUID or similar."]})
    return raw


def _existing(user_id: int, key: str) -> Order | None:
    return Order.objects.filter(user_id=user_id, idempotency_key=key).select_related("fill").first()


def _require_listed(symbol: str) -> None:
    if not symbol_is_listed(symbol):
        message = f"{symbol} is not a listed stock."
        raise OrderRefused("unknown_symbol", message, status=400, fields={"symbol": [message]})


def price_now(spec: OrderSpec, quote: QuoteView) -> tuple[Decimal | None, bool]:
    """(fill price now or None, whether a stop's trigger is already reached)."""
    triggered = spec.type in (T.STOP, T.STOP_LIMIT) and stop_triggered(is_buy=spec.is_buy, stop=spec.stop_price,
                                                                        last=quote.last)
    price = fill_price(is_buy=spec.is_buy, order_type=spec.type, limit=spec.limit_price, stop=spec.stop_price,
                       triggered=triggered, quote=quote)
    return price, triggered


def _unsaved(user_id: int, spec: OrderSpec, **fields) -> Order:
    return Order(user_id=user_id, symbol=spec.symbol, side=spec.side, type=spec.type, quantity=spec.quantity,
                 limit_price=spec.limit_price, stop_price=spec.stop_price, time_in_force=spec.time_in_force, **fields)


def _position_now(user_id: int, symbol: str) -> LockedPosition:
    """The position as it stands (not locked): for previews and the checks of a resting order."""
    row = Position.objects.filter(user_id=user_id, symbol=symbol).values_list(
        "id", "quantity", "avg_cost", "collateral", "opened_at").first()
    return LockedPosition(*row) if row else LockedPosition(0, Decimal(0), Decimal(0), 0, None)


def _estimate_price(spec: OrderSpec, quote: QuoteView) -> Decimal:
    """Where a resting order would fill at best: its limit, or for a stop the worse of the stop
    and the quote now."""
    if spec.limit_price is not None:
        return spec.limit_price
    side = quote.side_price(spec.is_buy)
    return max(spec.stop_price, side) if spec.is_buy else min(spec.stop_price, side)


# --------------------------------------------------------------------------- placing


def order_place(*, user_id: int, spec: OrderSpec, idempotency_key: str | None = None) -> tuple[Order, bool]:
    """Place an order: fill it now when it is marketable, else leave it resting.

    Returns (order, created); a retry with the same Idempotency-Key returns the first order
    with created False. Raises OrderRefused with the reason (unknown symbol, locked symbol,
    stale quote, no position to sell or cover, not enough points); a refusal writes nothing.
    The key is not looked up first: the order's unique (user, key) refuses a second insert, and
    only then (or when the retry would be refused) is the first order read back.
    """
    key = _clean_key(idempotency_key)
    try:
        return _place(user_id, spec, key), True
    except OrderRefused:
        if key and (existing := _existing(user_id, key)) is not None:
            return existing, False  # a retry of an order that went through: its first answer
        raise
    except IntegrityError:
        if key and (existing := _existing(user_id, key)) is not None:
            return existing, False  # the same key again (or twice at once): the first one stands
        raise


def _place(user_id: int, spec: OrderSpec, key: str | None) -> Order:
    _require_listed(spec.symbol)
    state = market_state(spec.symbol, count_order_of=user_id)
    check_rate(state)
    check_tradable(state)
    quote = state.view()
    price, triggered = price_now(spec, quote)
    now = datetime.fromtimestamp(state.now, timezone.utc)
    fields = {"idempotency_key": key}
    if triggered:
        fields.update(triggered_at=now, trigger_price=quote.last)
    if spec.time_in_force == Order.TimeInForce.DAY and price is None:
        fields["expires_at"] = day_order_expiry(state.now)
    try:
        with transaction.atomic():
            if price is not None:
                order = Order(**_fields(user_id, spec, **fields))
                fill_order(order=order, quote=quote, price=price, quote_ts=state.quote.ts, new=True)
            else:
                status = S.TRIGGERED if triggered else S.OPEN
                _check_resting(user_id, spec, quote)
                order = Order.objects.create(**_fields(user_id, spec, status=status, **fields))
                _index_on_commit(order)
    except InsufficientPoints as exc:
        raise OrderRefused("insufficient_points", str(exc), status=409) from None
    return order


def _fields(user_id: int, spec: OrderSpec, **extra) -> dict:
    return {"user_id": user_id, "symbol": spec.symbol, "side": spec.side, "type": spec.type,
            "quantity": spec.quantity, "limit_price": spec.limit_price, "stop_price": spec.stop_price,
            "time_in_force": spec.time_in_force, **extra}


def _check_resting(user_id: int, spec: OrderSpec, quote: QuoteView) -> None:
    """A resting order must make sense now: the position to sell or cover is there, and the
    balance covers it at its best estimated price (it is checked again when it fills)."""
    position = _position_now(user_id, spec.symbol)
    plan = plan_for(order=_unsaved(user_id, spec), position=position, price=_estimate_price(spec, quote))
    balance = balance_of(user_id)
    if balance + plan.net < 0:
        raise InsufficientPoints(balance, -plan.net)


def _index_on_commit(order: Order) -> None:
    values = {"order_id": order.pk, "symbol": order.symbol, "side": order.side, "order_type": order.type,
              "status": order.status, "limit": order.limit_price, "stop": order.stop_price}

    def add():
        try:
            index.order_add(get_redis(), **values)
        except Exception:  # noqa: BLE001 - the worker's index_sync adds it within 30 s
            log.exception("order %s not indexed", values["order_id"])

    transaction.on_commit(add)


# --------------------------------------------------------------------------- previewing


@dataclass(frozen=True)
class Preview:
    spec: OrderSpec
    executes_now: bool
    price: Decimal | None
    quote: dict | None
    plan: object | None
    balance: int
    position_before: Decimal
    refusal: OrderRefused | None

    def as_dict(self) -> dict:
        from apps.trading.serializers import _num

        plan = self.plan
        refusal = None if self.refusal is None else {"code": self.refusal.code, "message": self.refusal.message}
        return {
            "symbol": self.spec.symbol, "side": self.spec.side, "type": self.spec.type,
            "quantity": _num(self.spec.quantity), "executes_now": self.executes_now, "price": _num(self.price),
            "quote": self.quote, "notional": _num(plan.notional.quantize(Decimal("0.0001"))) if plan else None,
            "fee": plan.fee if plan else 0, "fee_bps": settings.TRADE_FEE_BPS,
            "cash": plan.cash if plan else 0, "collateral_locked": plan.collateral_locked if plan else 0,
            "collateral_released": plan.collateral_released if plan else 0, "net": plan.net if plan else 0,
            "balance": self.balance, "balance_after": self.balance + (plan.net if plan else 0),
            "position_before": _num(self.position_before),
            "position_after": _num(plan.change.quantity) if plan else _num(self.position_before),
            "avg_cost_after": _num(plan.change.avg_cost) if plan else None,
            "realized_pnl": _num(plan.change.realized_pnl) if plan else None,
            "buy_in_price": _num(plan.buy_in_price) if plan else None, "refusal": refusal,
        }


def order_preview(*, user_id: int, spec: OrderSpec, state: MarketState | None = None) -> Preview:
    """What the order would do now: the fill price, the fee, the resulting position and balance,
    computed by ``execution.plan_for`` as the fill will be, and the refusal it would get, if any.
    Writes nothing."""
    _require_listed(spec.symbol)
    state = state or market_state(spec.symbol)
    refusal = None
    try:
        check_tradable(state)
    except OrderRefused as exc:
        refusal = exc
    position = _position_now(user_id, spec.symbol)
    balance = balance_of(user_id)
    if state.quote is None:
        return Preview(spec, False, None, None, None, balance, position.quantity, refusal)
    quote = state.view()
    price, _ = price_now(spec, quote)
    estimate = price if price is not None else _estimate_price(spec, quote)
    plan = None
    try:
        plan = plan_for(order=_unsaved(user_id, spec), position=position, price=estimate)
    except OrderRefused as exc:
        refusal = refusal or exc
    if plan is not None and refusal is None and balance + plan.net < 0:
        refusal = OrderRefused("insufficient_points", str(InsufficientPoints(balance, -plan.net)))
    quote_dict = {"last": format(quote.last, "f"), "bid": format(quote.bid, "f"), "ask": format(quote.ask, "f"),
                  "age": round(state.age, 3)}
    return Preview(spec, price is not None, estimate, quote_dict, plan, balance, position.quantity, refusal)


# --------------------------------------------------------------------------- cancelling


def order_cancel(*, user_id: int, order_id: int) -> Order:
    """Cancel a resting order of the player's. One conditional UPDATE decides against a fill
    racing it: exactly one of the two happens. Raises OrderRefused: 404 (not theirs or no such
    order), 409 (already filled, cancelled, rejected or expired)."""
    with transaction.atomic():
        done = Order.objects.filter(pk=order_id, user_id=user_id, status__in=Order.RESTING).update(
            status=S.CANCELLED, reason="Cancelled by you.", closed_at=Now(), updated_at=Now())
        order = Order.objects.filter(pk=order_id, user_id=user_id).select_related("fill").first()
        if order is None:
            raise OrderRefused("not_found", f"You have no order {order_id}.", status=404)
        if not done:
            raise OrderRefused("not_cancellable", f"Order {order_id} is {order.status}: only open orders can be "
                                                  "cancelled.")
        values = {"order_id": order.pk, "symbol": order.symbol}
        transaction.on_commit(lambda: _safe(index.order_remove, get_redis(), **values))
    return order


def _safe(fn, *args, **kwargs) -> None:
    try:
        fn(*args, **kwargs)
    except Exception:  # noqa: BLE001 - after commit: the index is a hint, index_sync heals it
        log.exception("trigger index not updated: %s %s", fn.__name__, kwargs)


# --------------------------------------------------------------------------- the live portfolio


def portfolio_watch(*, user_id: int, seconds: int = 30) -> float:
    """The player has the portfolio open: push their live P&L over /ws/me/ for ``seconds`` more
    (the page renews this while it stays open). Returns the Redis time it lasts until."""
    client = get_redis()
    seconds_now, micros = client.time()
    until = seconds_now + micros / 1e6 + max(5, min(int(seconds), 120))
    client.zadd(VIEWERS_KEY, {str(int(user_id)): until})
    return until


def portfolio_unwatch(*, user_id: int) -> None:
    get_redis().zrem(VIEWERS_KEY, str(int(user_id)))

