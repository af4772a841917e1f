"""Routes of the player pages (mounted at the site root)."""
from django.urls import path

from apps.web.views import assets, lobby, players, races, stocks

urlpatterns = [
    path("", lobby.lobby, name="lobby"),
    path("favicon.ico", assets.favicon, name="favicon"),
    path("lobby/races/", lobby.lobby_races, name="lobby_races"),
    path("races/<int:race_id>/", races.race_detail, name="race_detail"),
    path("races/<int:race_id>/bet/", races.race_bet, name="race_bet"),
    path("races/<int:race_id>/bet/preview/", races.race_bet_preview, name="race_bet_preview"),
    path("races/<int:race_id>/part/<slug:part>/", races.race_part, name="race_part"),
    path("leaderboards/", players.leaderboards, name="leaderboards"),
    path("me/", players.me, name="me"),
    path("me/balance/", players.balance_badge, name="balance_badge"),
    path("u/<str:username>/", players.profile, name="profile"),
    path("stocks/", stocks.stock_list, name="stocks"),
    path("stocks/<str:symbol>/", stocks.stock_detail, name="stock_detail"),
    path("stocks/<str:symbol>/watch/", stocks.watch_toggle, name="watch_toggle"),
    path("watchlist/", stocks.watchlist, name="watchlist"),
]
