"""Routes of the trading pages (mounted at the site root)."""
from django.urls import path

from apps.trading import views

urlpatterns = [
    path("trade/<str:symbol>/", views.ticket, name="trading_ticket"),
    path("trade/<str:symbol>/preview/", views.ticket_preview, name="trading_ticket_preview"),
    path("trade/<str:symbol>/order/", views.ticket_place, name="trading_ticket_place"),
    path("portfolio/", views.portfolio_page, name="trading_portfolio"),
    path("orders/", views.orders_page, name="trading_orders"),
    path("orders/<int:order_id>/cancel/", views.order_cancel, name="trading_order_cancel"),
    path("trades/", views.trades_page, name="trading_trades"),
    path("returns/", views.returns_page, name="trading_returns"),
]
