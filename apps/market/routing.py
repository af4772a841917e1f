"""WebSocket routes of the market app."""
websocket_urlpatterns: list = []
