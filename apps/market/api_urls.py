"""market API routes (under /api/v1/)."""
from django.urls import path

from apps.market import api

urlpatterns = [
    path("stocks/", api.StockListView.as_view(), name="api-stocks"),
    path("stocks/<str:symbol>/", api.StockDetailView.as_view(), name="api-stock"),
    path("stocks/<str:symbol>/candles/", api.CandlesView.as_view(), name="api-stock-candles"),
    path("quotes/", api.QuotesView.as_view(), name="api-quotes"),
]
