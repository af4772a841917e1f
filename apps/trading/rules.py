"""The trading rules as pure functions: what an order is, where it fills, what a fill does.

Nothing here reads the database or Redis. The preview (``services.order_preview``) and the
execution (``execution.fill_order``) both call ``fill_price`` and ``plan_fill``: the numbers a
player sees before sending are computed by the very code that moves the points.

Rounding: cash is whole points. A cost is rounded up and proceeds down, the fee (``TRADE_FEE_BPS``
of the fill's value) up, collateral locked up and released down — every rounding goes to the
house, so no sequence of trades can farm rounding.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation

from apps.trading.models import Order
from apps.trading.positions import PositionChange, apply_fill

Side, Type, TIF = Order.Side, Order.Type, Order.TimeInForce
BUY_SIDES = frozenset({Side.BUY, Side.BUY_TO_COVER})
QTY_PLACES = 6
PRICE_PLACES = 4
MAX_QUANTITY = Decimal("1000000")
MAX_PRICE = Decimal("1000000")
ZERO = Decimal(0)


class OrderRefused(Exception):
    """An order the rules refuse, with a machine-readable code, an HTTP status and a message
    a player understands. ``fields`` names the offending inputs; ``extra`` adds data (the time
    a lock lifts)."""

    def __init__(self, code: str, message: str, *, status: int = 409, fields: dict | None = None,
                 extra: dict | None = None):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status
        self.fields = fields or {}
        self.extra = extra or {}


# --------------------------------------------------------------------------- the order itself


@dataclass(frozen=True)
class OrderSpec:
    symbol: str
    side: str
    type: str
    quantity: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None
    time_in_force: str

    @property
    def is_buy(self) -> bool:
        return self.side in BUY_SIDES


def _decimal(value, *, places: int, field: str, errors: dict, maximum: Decimal, what: str) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        errors[field] = [f"{what} is a number, such as {'1.5' if field == 'quantity' else '187.25'}."]
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors[field] = [f"{what} is a number, such as {'1.5' if field == 'quantity' else '187.25'}."]
        return None
    if not number.is_finite():
        errors[field] = [f"{what} must be a finite number."]
        return None
    if number <= 0:
        errors[field] = [f"{what} must be greater than zero."]
        return None
    if number > maximum:
        errors[field] = [f"{what} can be at most {maximum:,}."]
        return None
    if -number.as_tuple().exponent > places and number != number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_FLOOR):
        errors[field] = [f"{what} has at most {places} decimal places."]
        return None
    return number.quantize(Decimal(1).scaleb(-places))


def parse_order(data) -> OrderSpec:
    """The JSON body of POST /api/v1/orders/ (and of the ticket form) as an OrderSpec.

    Raises OrderRefused (400, code ``invalid``) naming every bad field. Whether the symbol is
    listed is checked by the caller (it needs the database).
    """
    if not isinstance(data, dict):
        raise OrderRefused("invalid", 'The body is a JSON object such as {"symbol": "AAPL", "side": "buy", '
                                      '"type": "market", "quantity": 2}.', status=400)
    errors: dict[str, list[str]] = {}
    symbol = data.get("symbol")
    if not isinstance(symbol, str) or not symbol.strip():
        errors["symbol"] = ["A symbol is required, such as AAPL."]
    elif len(symbol.strip()) > 16:
        errors["symbol"] = ["A symbol has at most 16 characters."]
    side = data.get("side")
    if side not in Side.values:
        errors["side"] = ["Choose buy, sell, sell_short or buy_to_cover."]
    order_type = data.get("type", Type.MARKET)
    if order_type not in Type.values:
        errors["type"] = ["Choose market, limit, stop or stop_limit."]
    tif = data.get("time_in_force") or TIF.DAY
    if tif not in TIF.values:
        errors["time_in_force"] = ["Choose day or gtc."]
    quantity = None
    if data.get("quantity") in (None, ""):
        errors["quantity"] = ["A quantity is required."]
    else:
        quantity = _decimal(data["quantity"], places=QTY_PLACES, field="quantity", errors=errors,
                            maximum=MAX_QUANTITY, what="The quantity")
    prices: dict[str, Decimal | None] = {"limit_price": None, "stop_price": None}
    needs = {Type.MARKET: (), Type.LIMIT: ("limit_price",), Type.STOP: ("stop_price",),
             Type.STOP_LIMIT: ("limit_price", "stop_price")}.get(order_type, ()) if order_type in Type.values else ()
    for field in ("limit_price", "stop_price"):
        raw = data.get(field)
        label = "The limit price" if field == "limit_price" else "The stop price"
        if field in needs:
            if raw in (None, ""):
                errors[field] = [f"{label} is required for a {order_type.replace('_', '-')} order."]
            else:
                prices[field] = _decimal(raw, places=PRICE_PLACES, field=field, errors=errors, maximum=MAX_PRICE,
                                         what=label)
        elif raw not in (None, "") and order_type in Type.values:
            errors[field] = [f"A {order_type.replace('_', '-')} order has no {field.replace('_', ' ')}."]
    if order_type == Type.MARKET and tif == TIF.GTC:
        errors["time_in_force"] = ["A market order fills at once or not at all: use day."]
    if errors:
        first = next(iter(errors))
        message = f"{first}: {errors[first][0]}" if len(errors) == 1 else "Some fields are not valid."
        raise OrderRefused("invalid", message, status=400, fields=errors)
    return OrderSpec(symbol=symbol.strip().upper(), side=side, type=order_type, quantity=quantity,
                     limit_price=prices["limit_price"], stop_price=prices["stop_price"], time_in_force=tif)


# --------------------------------------------------------------------------- where it fills


@dataclass(frozen=True, slots=True)
class QuoteView:
    """What the rules need of a quote: the last trade, the bid and the ask (Decimal, 4 places)."""

    last: Decimal
    bid: Decimal
    ask: Decimal

    def side_price(self, is_buy: bool) -> Decimal:
        """A market order's fill price: the ask for a buy, the bid for a sell."""
        return self.ask if is_buy else self.bid


def to_price(value: float | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(repr(round(float(value), PRICE_PLACES))).quantize(Decimal("0.0001"))


def quote_view(price: float, bid: float | None, ask: float | None) -> QuoteView:
    """A quote without a bid or ask (a trades-only feed) fills at its last price."""
    last = to_price(price)
    return QuoteView(last=last, bid=to_price(bid) or last, ask=to_price(ask) or last)


def stop_triggered(*, is_buy: bool, stop: Decimal, last: Decimal) -> bool:
    """Stops trigger on the last trade: a buy stop at or above its price, a sell stop at or below."""
    return last >= stop if is_buy else last <= stop


def limit_crossed(*, is_buy: bool, limit: Decimal, quote: QuoteView) -> bool:
    """A buy limit fills once the ask is at or under it, a sell limit once the bid is at or over it."""
    return quote.ask <= limit if is_buy else quote.bid >= limit


def fill_price(*, is_buy: bool, order_type: str, limit: Decimal | None, stop: Decimal | None, triggered: bool,
               quote: QuoteView) -> Decimal | None:
    """The price this order fills at against ``quote`` now, or None when it rests.

    Fills are always at the quote's side (ask for buys, bid for sells), never at the order's own
    price: a limit crossed by a gap fills at the better quote, a stop gapped through fills at the
    quote it finds, not at the stop.
    """
    if order_type in (Type.STOP, Type.STOP_LIMIT) and not triggered:
        if not stop_triggered(is_buy=is_buy, stop=stop, last=quote.last):
            return None
        triggered = True
    if order_type == Type.MARKET or order_type == Type.STOP:
        return quote.side_price(is_buy)
    # limit, or a triggered stop-limit
    if limit_crossed(is_buy=is_buy, limit=limit, quote=quote):
        return quote.side_price(is_buy)
    return None


def trigger_price_of(*, order_type: str, limit: Decimal | None, stop: Decimal | None, triggered: bool) -> Decimal:
    """The price a resting order waits for (its score in the trigger index)."""
    if order_type == Type.LIMIT or (order_type == Type.STOP_LIMIT and triggered):
        return limit
    return stop


# --------------------------------------------------------------------------- what a fill does


@dataclass(frozen=True)
class FillPlan:
    """The whole effect of one fill: the position change and every ledger movement.

    ``cash`` is signed (+ proceeds, − cost), the other amounts are non-negative; ``net`` is what
    the player's balance changes by. ``buy_in_price`` is the last trade at which the resulting
    short falls below maintenance (None when the position is not short).
    """

    side: str
    quantity: Decimal
    price: Decimal
    notional: Decimal
    cash: int
    fee: int
    collateral_locked: int
    collateral_released: int
    change: PositionChange
    collateral_after: int
    buy_in_price: Decimal | None

    @property
    def net(self) -> int:
        return self.cash - self.fee - self.collateral_locked + self.collateral_released


def _up(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_CEILING))


def _down(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def check_side(*, side: str, quantity: Decimal, held: Decimal, symbol: str) -> None:
    """Sell and buy to cover only reduce a position; raises OrderRefused (400) when the
    position is not there. Buy and sell short may go through zero (a buy covers a short first;
    a short sale sells the long first)."""
    if side == Side.SELL and held < quantity:
        if held <= 0:
            message = (f"You hold no {symbol} shares to sell." if held == 0 else
                       f"You are short {symbol}: use buy to cover to close it.")
        else:
            message = f"You hold {held.normalize():f} {symbol} shares: you can sell at most that many."
        raise OrderRefused("no_position", message, status=400, fields={"quantity": [message]})
    if side == Side.BUY_TO_COVER and -held < quantity:
        if held >= 0:
            message = f"You have no short position in {symbol} to cover."
        else:
            message = f"You are short {(-held).normalize():f} {symbol} shares: you can cover at most that many."
        raise OrderRefused("no_position", message, status=400, fields={"quantity": [message]})


def plan_fill(*, side: str, quantity: Decimal, price: Decimal, held: Decimal, avg_cost: Decimal, collateral: int,
              fee_bps: int, initial_pct: int, maintenance_pct: int) -> FillPlan:
    """Everything a fill of ``quantity`` at ``price`` does to a position of ``held`` shares."""
    is_buy = side in BUY_SIDES
    delta = quantity if is_buy else -quantity
    change = apply_fill(quantity=held, avg_cost=avg_cost, delta=delta, price=price)
    notional = quantity * price
    cash = -_up(notional) if is_buy else _down(notional)
    fee = _up(notional * fee_bps / Decimal(10_000)) if fee_bps else 0
    released = locked = 0
    if held < 0 and is_buy:  # covering (part of) a short
        closed = change.closed_quantity
        released = collateral if closed >= -held else _down(Decimal(collateral) * closed / -held)
    if not is_buy and change.quantity < 0 and change.opened_quantity > 0:  # opening or adding to a short
        locked = _up(change.opened_quantity * price * initial_pct / Decimal(100))
    collateral_after = collateral - released + locked
    buy_in = buy_in_price_of(change.quantity, collateral_after, maintenance_pct) if change.quantity < 0 else None
    return FillPlan(side=side, quantity=quantity, price=price, notional=notional, cash=cash, fee=fee,
                    collateral_locked=locked, collateral_released=released, change=change,
                    collateral_after=collateral_after, buy_in_price=buy_in)


def buy_in_price_of(quantity: Decimal, collateral: int, maintenance_pct: int) -> Decimal:
    """The last trade price above which a short of ``quantity`` (< 0) backed by ``collateral``
    points is below maintenance: collateral / (maintenance × shares)."""
    return (Decimal(collateral) * 100 / (maintenance_pct * -quantity)).quantize(Decimal("0.0001"), ROUND_FLOOR)


def below_maintenance(*, quantity: Decimal, collateral: int, last: Decimal, maintenance_pct: int) -> bool:
    """A short whose collateral covers less than ``maintenance_pct`` % of its value at ``last``."""
    return quantity < 0 and Decimal(collateral) * 100 < maintenance_pct * -quantity * last
