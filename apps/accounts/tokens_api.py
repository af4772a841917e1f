"""Token API beside simplejwt's views: the single-use WebSocket ticket (apps/accounts/tokens.py)."""
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.tokens import WS_TICKET_SECONDS, ws_ticket_issue


class WsTicketSerializer(serializers.Serializer):
    ticket = serializers.CharField()
    expires_in = serializers.IntegerField()


class WsTicketView(APIView):
    """A single-use ticket for one /ws/me/ connection (``/ws/me/?ticket=...``), valid 30 s."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={201: WsTicketSerializer})
    def post(self, request):
        ticket = ws_ticket_issue(user_id=request.user.pk)
        return Response({"ticket": ticket, "expires_in": WS_TICKET_SECONDS}, status=status.HTTP_201_CREATED)
