"""badges API routes (under /api/v1/)."""
from django.urls import path

from apps.badges.api import MyBadgesView, PlayerBadgesView

urlpatterns = [
    path("me/badges/", MyBadgesView.as_view(), name="api-my-badges"),
    path("players/<str:username>/badges/", PlayerBadgesView.as_view(), name="api-player-badges"),
]
