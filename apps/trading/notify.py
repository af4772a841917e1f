"""Personal events of the trading floor, pushed over /ws/me/ after the commit.

Notifications are ``alert`` events (the site's toasts show them on every page) with an
``event`` naming what happened and the order; the live portfolio is a ``portfolio`` event.
"""
from __future__ import annotations

from apps.trading.models import Fill, Order
from apps.trading.serializers import order_representation

VERBS = {"buy": "Bought", "sell": "Sold", "sell_short": "Sold short", "buy_to_cover": "Covered"}


def _qty(value) -> str:
    return format(value.normalize(), "f")


def order_filled_event(order: Order, fill: Fill) -> dict:
    what = f"{VERBS[order.side]} {_qty(fill.quantity)} {order.symbol} at {fill.price.normalize():f}"
    if order.source == Order.Source.BUY_IN:
        title = "Short bought in"
        message = f"Your {order.symbol} short fell below maintenance and was bought in: {what}."
        if fill.shortfall:
            message += f" {fill.shortfall} points it cost beyond your collateral and balance were written off."
        event = "buy_in"
    else:
        title = {"stop": "Stop filled", "stop_limit": "Stop-limit filled", "limit": "Limit order filled"}.get(
            order.type, "Order filled")
        message = f"{what}."
        event = "order_filled"
    return {"type": "alert", "event": event, "title": title, "message": message,
            "order": order_representation(order, fill)}


def order_closed_event(order: Order, *, event: str, title: str) -> dict:
    """A resting order that ended without a fill: rejected when it triggered, or expired."""
    return {"type": "alert", "event": event, "title": title,
            "message": f"{order.side.replace('_', ' ').capitalize()} {_qty(order.quantity)} {order.symbol}"
                       f" ({order.type.replace('_', '-')}): {order.reason}",
            "order": order_representation(order, fill=None)}
