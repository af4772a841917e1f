"""What every WebSocket route shares: who may open one (the Origin rule) and how fast a client
may talk (a per-connection message rate).

Browsers always send an ``Origin`` header on a WebSocket handshake; native iOS and Android
clients send none. ``OriginPolicy`` lets a handshake without one through (marked
``scope["ws_client"] = "native"``) and holds a browser's to ALLOWED_HOSTS as Channels'
``AllowedHostsOriginValidator`` does, refusing a foreign site's page (403). A native client
is never authenticated by a cookie (apps/live/auth.py): without the Origin check a cookie
proves nothing about who opened the socket.
"""
from __future__ import annotations

import time

from channels.security.websocket import AllowedHostsOriginValidator
from django.conf import settings

CLOSE_TOO_FAST = 4429  # the client sent messages faster than LIVE_WS_CLIENT_RATE


class OriginPolicy:
    def __init__(self, app):
        self.app = app
        self.browsers = AllowedHostsOriginValidator(app)

    async def __call__(self, scope, receive, send):
        if any(name == b"origin" for name, _ in scope.get("headers", ())):
            return await self.browsers({**scope, "ws_client": "browser"}, receive, send)
        return await self.app({**scope, "ws_client": "native"}, receive, send)


class MessageRate:
    """A token bucket per connection: ``rate`` messages a second on average, ``burst`` at once."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float | None = None, burst: int | None = None):
        self.rate = settings.LIVE_WS_CLIENT_RATE if rate is None else rate
        self.burst = settings.LIVE_WS_CLIENT_BURST if burst is None else burst
        self.tokens = float(self.burst)
        self.stamp = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True
