from django.urls import path

from apps.botdetect.api import PlayerDecisionView, PlayerSignalsView, ReviewQueueView

urlpatterns = [
    path("staff/review-queue/", ReviewQueueView.as_view(), name="api-staff-review-queue"),
    path("staff/players/<str:username>/signals/", PlayerSignalsView.as_view(), name="api-staff-player-signals"),
    path("staff/players/<str:username>/decision/", PlayerDecisionView.as_view(), name="api-staff-player-decision"),
]
