"""points API routes (under /api/v1/)."""
from django.urls import path

from apps.points.api import MeView, MyLedgerView

urlpatterns = [
    path("me/", MeView.as_view(), name="api-me"),
    path("me/ledger/", MyLedgerView.as_view(), name="api-my-ledger"),
]
