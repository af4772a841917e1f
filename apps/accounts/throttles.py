"""The sign-up limit: per address and per network (/24, IPv6 /64), the same for the page and the API.

Rates: REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["register"] (API_THROTTLE_REGISTER) per address
and ["register_network"] (API_THROTTLE_REGISTER_NETWORK) per network, read on every call. The
address is apps.core.net's trusted client address, so a forged X-Forwarded-For buys nothing.
"""
from __future__ import annotations

import math

from rest_framework import exceptions
from rest_framework.settings import api_settings

from apps.core import ratelimit
from apps.core.net import network_of


class SignupThrottled(exceptions.Throttled):
    default_code = "throttled"

    def __init__(self, wait: float):
        self.wait_seconds = max(1, math.ceil(wait))
        minutes = math.ceil(self.wait_seconds / 60)
        super().__init__(wait=self.wait_seconds, detail=(
            f"Too many sign-ups from your network. Try again in {minutes} minute{'s' if minutes != 1 else ''}."))


def signup_hit(address: str | None) -> float:
    """Count one sign-up attempt from ``address``; 0.0 when allowed, else seconds to wait."""
    if not address:
        return 0.0
    rates = api_settings.DEFAULT_THROTTLE_RATES
    windows = [(f"throttle:signup:addr:{address}", ratelimit.parse_rate(rates.get("register")))]
    network = network_of(address)
    if network:
        windows.append((f"throttle:signup:net:{network}", ratelimit.parse_rate(rates.get("register_network"))))
    return ratelimit.hit(windows)


def signup_check(address: str | None) -> None:
    """Raise SignupThrottled (429) when the sign-up limit refuses this attempt; count it otherwise."""
    wait = signup_hit(address)
    if wait > 0:
        raise SignupThrottled(wait)
