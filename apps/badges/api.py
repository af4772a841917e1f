"""Badge API: my badges, and any player's public showcase — every badge with its earned flag and date."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.badges.selectors import badge_showcase
from apps.badges.serializers import ShowcaseBadgeSerializer, ShowcaseSerializer
from apps.core.api import ApiError


def showcase_response(user) -> Response:
    badges = badge_showcase(user_id=user.pk)
    return Response({"username": user.username, "count": len(badges), "earned": sum(b.earned for b in badges),
                     "results": ShowcaseBadgeSerializer(badges, many=True).data})


class MyBadgesView(APIView):
    """GET /api/v1/me/badges/: earned badges first (rarest first), then the locked ones."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: ShowcaseSerializer})
    def get(self, request):
        return showcase_response(request.user)


class PlayerBadgesView(APIView):
    """GET /api/v1/players/{username}/badges/: a player's public badge showcase."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: ShowcaseSerializer})
    def get(self, request, username: str):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise ApiError(f"There is no player {username!r}.", code="not_found", status_code=404)
        return showcase_response(user)
