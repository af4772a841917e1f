"""Watchlist API routes (under /api/v1/)."""
from django.urls import path

from apps.web.api import WatchlistItemView, WatchlistView

urlpatterns = [
    path("me/watchlist/", WatchlistView.as_view(), name="api-watchlist"),
    path("me/watchlist/<str:symbol>/", WatchlistItemView.as_view(), name="api-watchlist-item"),
]
