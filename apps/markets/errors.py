"""Why a market request was refused, in words a player understands (the API turns these into 4xx)."""
from __future__ import annotations

from apps.core.api import ApiError


class MarketRefused(ApiError):
    """Nothing was written; ``code`` tells clients which rule said no."""

    status_code = 409
    default_code = "market_refused"


def invalid(message: str, *, field: str, code: str = "invalid") -> MarketRefused:
    return MarketRefused(message, code=code, status_code=400, fields={field: [message]})


def not_found(market_id) -> MarketRefused:
    return MarketRefused(f"There is no market {market_id}.", code="not_found", status_code=404)


def closed(state: str) -> MarketRefused:
    if state == "open":
        return MarketRefused("This market has closed: trading stopped at its closing time.", code="market_closed")
    return MarketRefused(f"This market is {state}; it takes no trades.", code="market_closed")


def forbidden(message: str) -> MarketRefused:
    return MarketRefused(message, code="permission_denied", status_code=403)
