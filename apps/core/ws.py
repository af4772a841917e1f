"""What every WebSocket route shares: who may open one (the Origin rule) and how fast a client
may talk (a per-connection message rate).

Browsers always send an ``Origin`` header on a WebSocket handshake; native iOS and Android
clients send none. ``OriginPolicy`` lets a handshake without one through (marked
``scope["ws_client"] = "native"``) and holds a browser's to ALLOWED_HOSTS as Channels'
``AllowedHostsOriginValidator`` does, refusing a foreign site's page (403). A native client
is never authenticated by a cookie (apps/live/auth.py): without the Origin check a cookie
proves nothing about who opened the socket.

``LeavesOnError``: a consumer whose handler raises is ended by Channels without its
``disconnect()``; the mixin calls it first, so that no hub keeps a dead watcher, and closes the
socket with 4503 (try again) when Redis or the database is out of reach.
"""
from __future__ import annotations

import logging
import time

from channels.exceptions import StopConsumer
from channels.security.websocket import AllowedHostsOriginValidator
from django.conf import settings

CLOSE_TOO_FAST = 4429  # the client sent messages faster than LIVE_WS_CLIENT_RATE
CLOSE_UNAVAILABLE = 4503  # Redis or the database out of reach for a moment: reconnect soon

log = logging.getLogger("stockrace.ws")


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


class LeavesOnError:
    """Mix into a Channels consumer before its base class. When a handler raises, Channels ends
    the consumer without calling ``disconnect()`` (the socket is closed, the application is
    over): a watcher would stay in its process's hub for good — sent to, counted, and, when its
    room's subscription had not been confirmed yet, keeping the room from ever being subscribed.
    Here ``disconnect()`` runs first (it must be safe to run twice: the close brings it again).
    An outage (apps/core/unavailable.py) then closes the socket with CLOSE_UNAVAILABLE, which
    clients treat as "reconnect in a moment"; any other exception is raised on, as before."""

    async def dispatch(self, message):
        try:
            await super().dispatch(message)
        except StopConsumer:  # the ordinary end, after disconnect() ran
            raise
        except Exception as exc:
            from apps.core.unavailable import is_unavailable

            try:
                await self.disconnect(CLOSE_UNAVAILABLE)
            except Exception:  # noqa: BLE001 - the original failure is the one to report
                log.warning("%s: disconnect after a failure failed too", type(self).__name__, exc_info=True)
            if not is_unavailable(exc):
                raise
            log.warning("%s: closed with %d: %s: %s", type(self).__name__, CLOSE_UNAVAILABLE, type(exc).__name__, exc)
            await self.close(code=CLOSE_UNAVAILABLE)
