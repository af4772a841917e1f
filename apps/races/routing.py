"""WebSocket routes of the races app."""
websocket_urlpatterns: list = []
