"""Number formats of the trading pages."""
from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()


def _dec(value) -> Decimal | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


@register.filter
def pts(value) -> str:
    """Points to the cent where they are fractional (P&L, values): 1,234.56."""
    number = _dec(value)
    return "—" if number is None else f"{number:,.2f}"


@register.filter
def signed(value) -> str:
    number = _dec(value)
    return "—" if number is None else f"{number:+,.2f}"


@register.filter
def pct(value) -> str:
    return "—" if value in (None, "") else f"{float(value):+.2f}%"


@register.filter
def qty(value) -> str:
    number = _dec(value)
    return "—" if number is None else format(number.normalize(), "f")


@register.filter
def px(value) -> str:
    number = _dec(value)
    return "—" if number is None else f"{number:,.2f}" if number == number.quantize(Decimal("0.01")) else f"{number:,.4f}"


@register.filter
def updown(value) -> str:
    number = _dec(value)
    if number is None or number == 0:
        return "flat"
    return "up" if number > 0 else "down"


@register.filter
def label(value: str) -> str:
    return str(value).replace("_", " ")
