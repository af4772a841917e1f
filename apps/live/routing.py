"""WebSocket routes of the live rooms (included from stockrace/routing.py)."""
from django.urls import path

from apps.live.consumers import MeConsumer, RaceRoomConsumer

websocket_urlpatterns = [
    path("ws/races/<int:race_id>/", RaceRoomConsumer.as_asgi()),
    path("ws/me/", MeConsumer.as_asgi()),
]
