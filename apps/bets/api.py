"""Bet API: place a bet on a race, list my bets."""
from __future__ import annotations

from django.http import JsonResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, permissions, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import ListAPIView
from rest_framework.views import APIView

from apps.bets.auth import PlayerTokenAuthentication
from apps.bets.models import Bet
from apps.bets.errors import rate_limited
from apps.bets.selectors import bets_of_user
from apps.bets.serializers import BetRequestSerializer, BetSerializer, bet_representation, parse_bet_request
from apps.bets.services import bet_place
from apps.bets.throttles import BetThrottle
from apps.races.selectors import race_results
from apps.core.net import request_client_address
from apps.core.observe import client_info_from_request, observe_bet
from apps.core.inputs import whole_number


class BetCreateView(APIView):
    # The token's user id is all a bet needs (apps.bets.auth); pages post with their session.
    # Bearer-token JSON requests are usually answered by apps.bets.fastpath in front of Django,
    # with the same parts; this view answers everything else and documents the endpoint.
    authentication_classes = [PlayerTokenAuthentication, SessionAuthentication]
    permission_classes = [permissions.IsAuthenticated]
    throttle_classes = [BetThrottle]

    def throttled(self, request, wait):
        raise rate_limited(wait)

    @extend_schema(
        request=BetRequestSerializer,
        responses={201: BetSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
                                     description="Retrying a POST with the same key returns the first bet.")],
    )
    def post(self, request, race_id: int):
        bet = bet_place(user=request.user, race_id=race_id, idempotency_key=request.headers.get("Idempotency-Key"),
                        client_ip=request_client_address(request), preflight=getattr(request, "bet_preflight", None),
                        **parse_bet_request(request.data))
        if not bet.replayed:
            observe_bet(user_id=bet.user_id, bet_id=bet.pk, info=client_info_from_request(request, via="api"))
        # A plain JSON response: the hottest write path skips DRF's content negotiation.
        return JsonResponse(bet_representation(bet), status=status.HTTP_201_CREATED)


class MyBetsView(ListAPIView):
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = BetSerializer

    @extend_schema(parameters=[OpenApiParameter("race", int, required=False, description="only bets on this race")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["race_results"] = getattr(self, "_race_results", None)
        return context

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        settled = {bet.race_id for bet in (page or []) if bet.status in (Bet.Status.WON, Bet.Status.LOST)}
        # One query for the results of every race on the page with a settled bet (for the breakdowns).
        self._race_results = race_results(settled) if settled else {}
        return page

    def get_queryset(self):
        race = self.request.query_params.get("race")
        race_id = whole_number(race) if race else None
        if race and race_id is None:
            raise exceptions.ValidationError({"race": ["A race id is a whole number."]})
        return bets_of_user(user_id=self.request.user.pk, race_id=race_id)
