"""Every WebSocket route of the project: each app lists its own in apps/<app>/routing.py."""
from apps.market.routing import websocket_urlpatterns as market_ws
from apps.races.routing import websocket_urlpatterns as races_ws
from apps.feed.routing import websocket_urlpatterns as feed_ws
from apps.live.routing import websocket_urlpatterns as live_ws
from apps.markets.routing import websocket_urlpatterns as markets_ws

websocket_urlpatterns = [*market_ws, *races_ws, *feed_ws, *live_ws, *markets_ws]
