"""The JSON shapes of the trading API (and of the /ws/me/ events, which reuse them), with the
DRF serializers that document them in the OpenAPI schema."""
from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from apps.trading.models import Fill, Order


def _num(value: Decimal | None) -> str | None:
    """Decimals travel as strings without trailing zeros ("1.5", "187.2300" -> "187.23")."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return text


def _time(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def fill_representation(fill: Fill) -> dict:
    return {
        "id": fill.pk, "order": fill.order_id, "symbol": fill.symbol, "side": fill.side, "type": fill.order_type,
        "quantity": _num(fill.quantity), "price": _num(fill.price), "cash": fill.cash, "fee": fill.fee,
        "collateral_locked": fill.collateral_locked, "collateral_released": fill.collateral_released,
        "shortfall": fill.shortfall, "realized_pnl": _num(fill.realized_pnl),
        "position_after": _num(fill.position_after), "avg_cost_after": _num(fill.avg_cost_after),
        "filled_at": _time(fill.created_at),
    }


_LOOK_UP = object()


def order_representation(order: Order, fill=_LOOK_UP) -> dict:
    """An order as the API answers it: a replayed POST returns exactly this again. ``fill``: the
    order's fill or None when known (else it is looked up: prefetch it for lists)."""
    if fill is _LOOK_UP and order.status != Order.Status.FILLED:
        fill = None  # only a filled order has a fill
    elif fill is _LOOK_UP:
        try:
            fill = order.fill
        except Fill.DoesNotExist:
            fill = None
    return {
        "id": order.pk, "symbol": order.symbol, "side": order.side, "type": order.type,
        "quantity": _num(order.quantity), "limit_price": _num(order.limit_price), "stop_price": _num(order.stop_price),
        "time_in_force": order.time_in_force, "status": order.status, "source": order.source, "reason": order.reason,
        "created_at": _time(order.created_at), "triggered_at": _time(order.triggered_at),
        "trigger_price": _num(order.trigger_price), "closed_at": _time(order.closed_at),
        "expires_at": _time(order.expires_at),
        "fills": [fill_representation(fill)] if fill is not None else [],
    }


class OrderRequestSerializer(serializers.Serializer):
    """The body of POST /api/v1/orders/ and /orders/preview/ (checked by rules.parse_order)."""

    symbol = serializers.CharField(max_length=16, help_text="a listed symbol, such as AAPL")
    side = serializers.ChoiceField(choices=Order.Side.choices)
    type = serializers.ChoiceField(choices=Order.Type.choices, default="market")
    quantity = serializers.DecimalField(max_digits=13, decimal_places=6, help_text="shares, > 0, at most 6 decimals")
    limit_price = serializers.DecimalField(max_digits=11, decimal_places=4, required=False, allow_null=True,
                                           help_text="limit and stop_limit orders: > 0, at most 4 decimals")
    stop_price = serializers.DecimalField(max_digits=11, decimal_places=4, required=False, allow_null=True,
                                          help_text="stop and stop_limit orders: > 0, at most 4 decimals")
    time_in_force = serializers.ChoiceField(choices=Order.TimeInForce.choices, default="day",
                                            help_text="day: expires at the session's close; gtc: until cancelled")


class FillSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    order = serializers.IntegerField()
    symbol = serializers.CharField()
    side = serializers.ChoiceField(choices=Order.Side.choices)
    type = serializers.ChoiceField(choices=Order.Type.choices)
    quantity = serializers.CharField(help_text="decimal string")
    price = serializers.CharField(help_text="decimal string")
    cash = serializers.IntegerField(help_text="points: + proceeds credited, − cost debited")
    fee = serializers.IntegerField()
    collateral_locked = serializers.IntegerField()
    collateral_released = serializers.IntegerField()
    shortfall = serializers.IntegerField(help_text="a buy-in's cost the collateral and balance could not cover")
    realized_pnl = serializers.CharField(help_text="(price − average cost) × shares closed, before fees")
    position_after = serializers.CharField()
    avg_cost_after = serializers.CharField()
    filled_at = serializers.DateTimeField()

    def to_representation(self, instance):
        return fill_representation(instance)


class OrderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    symbol = serializers.CharField()
    side = serializers.ChoiceField(choices=Order.Side.choices)
    type = serializers.ChoiceField(choices=Order.Type.choices)
    quantity = serializers.CharField()
    limit_price = serializers.CharField(allow_null=True)
    stop_price = serializers.CharField(allow_null=True)
    time_in_force = serializers.ChoiceField(choices=Order.TimeInForce.choices)
    status = serializers.ChoiceField(choices=Order.Status.choices)
    source = serializers.ChoiceField(choices=Order.Source.choices)
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    triggered_at = serializers.DateTimeField(allow_null=True)
    trigger_price = serializers.CharField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    fills = FillSerializer(many=True)

    def to_representation(self, instance):
        return order_representation(instance)


class PreviewSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    side = serializers.CharField()
    type = serializers.CharField()
    quantity = serializers.CharField()
    executes_now = serializers.BooleanField(help_text="false: the order would rest until its price is reached")
    price = serializers.CharField(allow_null=True, help_text="the fill price now, or the order's own price when it "
                                                            "would rest (null: no quote yet)")
    quote = serializers.DictField(allow_null=True)
    notional = serializers.CharField(allow_null=True)
    fee = serializers.IntegerField()
    fee_bps = serializers.IntegerField()
    cash = serializers.IntegerField()
    collateral_locked = serializers.IntegerField()
    collateral_released = serializers.IntegerField()
    net = serializers.IntegerField(help_text="what the points balance changes by")
    balance = serializers.IntegerField()
    balance_after = serializers.IntegerField()
    position_before = serializers.CharField()
    position_after = serializers.CharField()
    avg_cost_after = serializers.CharField(allow_null=True)
    realized_pnl = serializers.CharField(allow_null=True)
    buy_in_price = serializers.CharField(allow_null=True)
    refusal = serializers.DictField(allow_null=True, help_text="the error the order would get now, if any")


class PositionValueSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.CharField()
    avg_cost = serializers.CharField()
    price = serializers.CharField(allow_null=True)
    quote_age = serializers.FloatField(allow_null=True)
    market_value = serializers.CharField(allow_null=True)
    cost_basis = serializers.CharField()
    unrealized_pnl = serializers.CharField(allow_null=True)
    unrealized_pct = serializers.FloatField(allow_null=True)
    realized_pnl = serializers.CharField()
    day_change = serializers.CharField(allow_null=True)
    day_change_pct = serializers.FloatField(allow_null=True)
    collateral = serializers.IntegerField()
    buy_in_price = serializers.CharField(allow_null=True)


class PortfolioSerializer(serializers.Serializer):
    cash = serializers.IntegerField(help_text="the points balance (one currency with races)")
    collateral = serializers.IntegerField()
    market_value = serializers.CharField()
    equity = serializers.CharField(help_text="cash + collateral + market value (shorts count negative)")
    unrealized_pnl = serializers.CharField()
    realized_pnl = serializers.CharField()
    fees_paid = serializers.IntegerField()
    day_change = serializers.CharField()
    total_return = serializers.CharField(help_text="realized + unrealized − fees, in points")
    total_return_pct = serializers.FloatField(allow_null=True, help_text="total return / capital invested, %")
    invested = serializers.CharField()
    as_of = serializers.FloatField(help_text="Redis time of the quotes, epoch seconds")
    positions = PositionValueSerializer(many=True)


class SnapshotSerializer(serializers.Serializer):
    session = serializers.DateField()
    equity = serializers.CharField()
    total_return = serializers.CharField()
    market_value = serializers.CharField()
    cash = serializers.IntegerField()


class ReturnsRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    user_id = serializers.IntegerField()
    username = serializers.CharField()
    return_pct = serializers.FloatField()
    pnl = serializers.CharField()
    trades = serializers.IntegerField()


class ReturnsBoardSerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=["weekly", "monthly", "all_time"])
    since = serializers.DateTimeField(allow_null=True)
    min_trades = serializers.IntegerField()
    results = ReturnsRowSerializer(many=True)
