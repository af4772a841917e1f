"""Staff-only fair-play API: the review queue, one player's signals, and decisions.

Session or JWT (the API's default authentication); anyone who is not staff — anonymous
included — gets 403 in the one error shape.
"""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, permissions, serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.botdetect.selectors import player_case, review_queue
from apps.botdetect.services import DecisionError, decision_apply
from apps.core.api import ApiError
from apps.core.schema import error_response

User = get_user_model()

ERRORS = {403: error_response("Not staff (anonymous included).", "permission_denied")}
NO_PLAYER = error_response("No such player.", "not_found")


class IsStaff(permissions.BasePermission):
    message = "Only staff can see fair-play cases."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class StaffView:
    permission_classes = [IsStaff]

    def permission_denied(self, request, message=None, code=None):
        raise exceptions.PermissionDenied(message or IsStaff.message)  # 403, never 401: the rule


class QueueEntrySerializer(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    user_id = serializers.IntegerField()
    score = serializers.FloatField()
    kinds = serializers.IntegerField()
    families = serializers.DictField(child=serializers.FloatField())
    status = serializers.CharField()
    queued_at = serializers.DateTimeField(allow_null=True)
    restricted_at = serializers.DateTimeField(allow_null=True)
    top_signals = serializers.SerializerMethodField()

    def get_top_signals(self, case) -> list[str]:
        return [f"{s['kind']}: {s['summary']}" for s in (case.signals or [])[:3] if s.get("points")]


class DecisionRequestSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["clear", "restrict", "ban"])
    reason = serializers.CharField(max_length=500, trim_whitespace=True)


class DecisionSerializer(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    action = serializers.CharField()
    reason = serializers.CharField()
    staff = serializers.CharField(source="staff.username", allow_null=True)
    score = serializers.FloatField()
    points_moved = serializers.IntegerField(help_text="held points released (clear) or burned (ban)")
    at = serializers.DateTimeField()


class ReviewQueueView(StaffView, ListAPIView):
    serializer_class = QueueEntrySerializer

    @extend_schema(responses={200: QueueEntrySerializer(many=True), **ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return review_queue()


class PlayerSignalsView(StaffView, APIView):
    @extend_schema(responses={200: OpenApiResponse(description="score, signals with evidence, linked accounts side "
                                                               "by side, decisions"),
                              404: NO_PLAYER, **ERRORS})
    def get(self, request, username: str):
        return Response(player_case(user=get_object_or_404(User, username=username)))


class PlayerDecisionView(StaffView, APIView):
    @extend_schema(request=DecisionRequestSerializer, responses={
        200: DecisionSerializer, 400: error_response("Bad decision or no reason.", "invalid"),
        404: NO_PLAYER, **ERRORS})
    def post(self, request, username: str):
        user = get_object_or_404(User, username=username)
        data = DecisionRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            record = decision_apply(user=user, staff=request.user, **data.validated_data)
        except DecisionError as exc:
            raise ApiError(str(exc), code="invalid_decision", status_code=400)
        return Response(DecisionSerializer(record).data)
