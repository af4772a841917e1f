"""leaderboards API routes (under /api/v1/)."""
from django.urls import path

from apps.leaderboards.api import LeaderboardView

urlpatterns = [
    path("leaderboards/<str:board>/", LeaderboardView.as_view(), name="api-leaderboard"),
]
