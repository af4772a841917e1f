"""bets API routes (under /api/v1/)."""
from django.urls import path

from apps.bets.api import BetCreateView, MyBetsView

urlpatterns = [
    path("races/<int:race_id>/bets/", BetCreateView.as_view(), name="api-bet-create"),
    path("me/bets/", MyBetsView.as_view(), name="api-my-bets"),
]
