"""markets API routes (under /api/v1/)."""
from django.urls import path

from apps.markets import api

urlpatterns = [
    path("markets/", api.MarketListCreateView.as_view(), name="api-markets"),
    path("markets/leaderboard/", api.MarketLeaderboardView.as_view(), name="api-markets-leaderboard"),
    path("markets/<int:market_id>/", api.MarketDetailView.as_view(), name="api-market"),
    path("markets/<int:market_id>/quote/", api.MarketQuoteView.as_view(), name="api-market-quote"),
    path("markets/<int:market_id>/trades/", api.MarketTradesView.as_view(), name="api-market-trades"),
    path("markets/<int:market_id>/history/", api.MarketHistoryView.as_view(), name="api-market-history"),
    path("markets/<int:market_id>/stops/", api.MarketStopsView.as_view(), name="api-market-stops"),
    path("markets/<int:market_id>/stops/<int:stop_id>/", api.MarketStopDetailView.as_view(),
         name="api-market-stop"),
    path("markets/<int:market_id>/resolve/", api.MarketResolveView.as_view(), name="api-market-resolve"),
    path("markets/<int:market_id>/cancel/", api.MarketCancelView.as_view(), name="api-market-cancel"),
    path("me/positions/", api.MyPositionsView.as_view(), name="api-my-positions"),
]
