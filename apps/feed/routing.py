"""WebSocket routes of the feed app."""
from django.urls import re_path

from apps.feed.consumers import QuotesConsumer

websocket_urlpatterns = [
    re_path(r"^ws/quotes/$", QuotesConsumer.as_asgi()),
]
