"""Why a bet was refused, in words a player understands (the API turns these into 4xx)."""
from __future__ import annotations

import math

from apps.core.api import ApiError


class BetRefused(ApiError):
    """A bet that was not placed; nothing was written. ``code`` tells clients which rule said no."""

    status_code = 409
    default_code = "bet_refused"


def invalid(message: str, *, field: str, code: str = "invalid") -> BetRefused:
    return BetRefused(message, code=code, status_code=400, fields={field: [message]})


def race_not_found(race_id) -> BetRefused:
    return BetRefused(f"There is no race {race_id}.", code="not_found", status_code=404)


def cooldown(remaining_seconds: float, cooldown_seconds: float) -> BetRefused:
    exc = BetRefused(f"Wait {max(remaining_seconds, 0.1):.1f} s: you can place one bet every "
                     f"{cooldown_seconds:g} s.", code="cooldown", status_code=429)
    exc.wait = max(1, math.ceil(remaining_seconds))  # DRF's handler turns this into Retry-After
    return exc


def rate_limited(wait: float | None) -> BetRefused:
    """A rate limit (apps.bets.throttles) refused the bet: the same 429 on every route."""
    seconds = max(1, round(wait or 1))
    exc = BetRefused(f"Too many bets in a short time: try again in {seconds} s.", code="rate_limited",
                     status_code=429)
    exc.wait = seconds
    return exc
