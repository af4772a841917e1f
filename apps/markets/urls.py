"""Market pages (mounted at the site root)."""
from django.urls import path

from apps.markets import views

urlpatterns = [
    path("markets/", views.market_list, name="markets"),
    path("markets/leaderboard/", views.leaderboard, name="markets_leaderboard"),
    path("markets/<int:market_id>/", views.market_detail, name="market_detail"),
    path("markets/<int:market_id>/mine/", views.market_mine, name="market_mine"),
]
