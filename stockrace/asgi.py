"""ASGI entry point: HTTP through Django, WebSockets through Channels' routers."""
import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockrace.settings")

from stockrace.handlers import get_asgi_application  # noqa: E402

# Sets Django up before consumers import models. Each HTTP request is handled in one call on a
# pooled worker thread, as under a threaded WSGI server (stockrace/handlers.py).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from apps.bets.auth import PlayerTokenAuthentication  # noqa: E402
from apps.bets.fastpath import BetRoute  # noqa: E402
from apps.core.lean import LeanRoutes  # noqa: E402
from apps.core.ws import OriginPolicy  # noqa: E402
from apps.live.fallback import LiveFallback  # noqa: E402
from apps.markets.fastpath import MarketTradeRoute  # noqa: E402
from apps.trading.fastpath import OrderRoute  # noqa: E402
from stockrace.body_limit import BodyLimit  # noqa: E402
from stockrace.routing import websocket_urlpatterns  # noqa: E402
from stockrace.servers import limit_daphne_websockets, tune_twisted_http  # noqa: E402

# The hot POSTs of token-authenticated JSON clients skip Django's request machinery (apps/core/lean.py):
# bets, orders and market trades, each built from its app's own services and turned off by its switch
# (BET_FAST_PATH, TRADE_FAST_PATH, MARKET_FAST_PATH). Every other HTTP request goes to Django.
http_app = LeanRoutes(django_asgi_app, routes=[BetRoute(), OrderRoute(), MarketTradeRoute()],
                      authenticator=PlayerTokenAuthentication())

application = ProtocolTypeRouter(
    {
        # Every request body is capped (413) before anything reads it (stockrace/body_limit.py);
        # /live/... serves the live channels over SSE for clients without WebSockets (apps/live/fallback.py).
        "http": BodyLimit(LiveFallback(http_app), settings.HTTP_MAX_BODY_BYTES),
        # Browsers' handshakes are held to ALLOWED_HOSTS; native clients send no Origin (apps/core/ws.py).
        "websocket": OriginPolicy(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

# Under daphne: Twisted's per-request Content-Type parsing memoised, and a client's WebSocket
# messages capped from their frame headers (stockrace/servers.py).
tune_twisted_http()
limit_daphne_websockets(max_message=settings.LIVE_WS_MAX_MESSAGE_BYTES, max_frame=settings.LIVE_WS_MAX_MESSAGE_BYTES)

# Everything loaded so far (Django, apps, routes) lives as long as the process: move it out of
# the collector's reach, so that a full collection in a process holding thousands of viewers
# scans only what they create (docs/ARCHITECTURE-live.md, "The write path").
gc.freeze()
