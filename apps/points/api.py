"""Points API: my summary (balance, streak, rank) and my ledger."""
from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.points.selectors import ledger_of_user, me_summary
from apps.points.serializers import LedgerEntrySerializer, MeSerializer


class MeView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: MeSerializer})
    def get(self, request):
        return Response(MeSerializer(me_summary(user=request.user)).data)


class MyLedgerView(ListAPIView):
    """My points ledger, newest first, paginated (?page=, ?page_size=)."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = LedgerEntrySerializer

    def get_queryset(self):
        return ledger_of_user(user_id=self.request.user.pk,
                              restricted=getattr(self.request.user, "is_shadow_restricted", False))
