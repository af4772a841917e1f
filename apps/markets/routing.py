"""WebSocket routes of the prediction markets (included from stockrace/routing.py)."""
from django.urls import path

from apps.markets.consumers import MarketConsumer

websocket_urlpatterns = [
    path("ws/markets/<int:market_id>/", MarketConsumer.as_asgi()),
]
