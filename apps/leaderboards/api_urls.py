"""leaderboards API routes (under /api/v1/)."""
from django.urls import path

from apps.leaderboards.api import LeaderboardView, RaceLeaderboardView

urlpatterns = [
    path("leaderboards/<str:board>/", LeaderboardView.as_view(), name="api-leaderboard"),
    path("races/<str:race_id>/leaderboard/", RaceLeaderboardView.as_view(), name="api-race-leaderboard"),
]
