"""trading API routes (under /api/v1/)."""
from django.urls import path

from apps.trading import api

urlpatterns = [
    path("orders/", api.OrdersView.as_view(), name="api-orders"),
    path("orders/preview/", api.PreviewView.as_view(), name="api-order-preview"),
    path("orders/<int:order_id>/", api.OrderDetailView.as_view(), name="api-order"),
    path("portfolio/", api.PortfolioView.as_view(), name="api-portfolio"),
    path("portfolio/watch/", api.PortfolioWatchView.as_view(), name="api-portfolio-watch"),
    path("portfolio/history/", api.PortfolioHistoryView.as_view(), name="api-portfolio-history"),
    path("trades/", api.TradesView.as_view(), name="api-trades"),
    path("trades/export.csv", api.TradesCsvView.as_view(), name="api-trades-csv"),
    path("trading/leaderboard/", api.ReturnsLeaderboardView.as_view(), name="api-returns-leaderboard"),
]
