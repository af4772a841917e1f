"""races API routes (under /api/v1/)."""
from django.urls import path

from apps.races.api import RaceDetailView, RaceListView

urlpatterns = [
    path("races/", RaceListView.as_view(), name="api-races"),
    path("races/<str:race_id>/", RaceDetailView.as_view(), name="api-race"),
]
