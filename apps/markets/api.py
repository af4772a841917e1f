"""Markets API: list, create (staff), detail, quote, trade, stops, positions, resolve and cancel
(staff), history and the profit leaderboard. Views parse and call; the rules are in the services."""
from __future__ import annotations

from django.http import JsonResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.bets.auth import PlayerTokenAuthentication
from apps.core.schema import error_response
from apps.markets import errors, resolution, selectors, services
from apps.markets.amm.numeric import calc, text
from apps.markets.models import Market
from apps.markets.pricing import Order
from apps.markets.throttles import MarketTradesThrottle
from apps.markets.serializers import (MarketCancelSerializer, MarketEndedSerializer, MarketFillSerializer,
                                      MarketHistoryPointSerializer, MarketLeaderboardRowSerializer, MarketCreateSerializer,
                                      MarketSerializer, MarketOrderSerializer, MarketPositionSerializer, MarketResolveSerializer,
                                      MarketStopCreateSerializer, MarketStopSerializer, MarketTapeSerializer, MarketTradeSerializer)
from apps.markets.events import trade_summary


NOT_FOUND = error_response("No such market.", "not_found")
BAD_ORDER = error_response("The order is not valid; nothing was written.", "invalid", "unknown_outcome", "too_small")
REFUSED = error_response("The market cannot take this trade; nothing was written.", "market_closed", "market_dry",
               "price_limit", "insufficient_shares", "insufficient_points")
UNAUTHENTICATED = error_response("Not signed in.", "not_authenticated")
NOT_STAFF = error_response("Staff only.", "permission_denied", "not_authenticated")
IDEMPOTENCY = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
                               description="Retrying a POST with the same key returns the first trade (replayed).")


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise errors.invalid("Send a JSON object.", field="non_field_errors")
    return request.data


def order_from_body(data) -> Order:
    """The order a quote or trade request's JSON body gives (400s in the error shape); the lean
    trade route (apps/markets/fastpath.py) parses with it too."""
    if not isinstance(data, dict):
        raise errors.invalid("Send a JSON object.", field="non_field_errors")
    return services.parse_order(outcome=data.get("outcome"), side=data.get("side"), amount=data.get("amount"),
                                shares=data.get("shares"))


def _order(request) -> Order:
    return order_from_body(request.data)


class IsStaff(permissions.BasePermission):
    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class MarketListCreateView(ListAPIView):
    serializer_class = MarketSerializer

    def get_permissions(self):
        return [IsStaff()] if self.request.method == "POST" else [permissions.AllowAny()]

    def get_queryset(self):
        state = self.request.query_params.get("state")
        if state and state not in Market.State.values:
            raise errors.invalid(f"state is one of {', '.join(Market.State.values)}.", field="state")
        return selectors.markets_list(state=state)

    @extend_schema(parameters=[OpenApiParameter("state", str, enum=list(Market.State.values), required=False)],
                   responses={200: MarketSerializer(many=True), 400: error_response("Unknown state.", "invalid")})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=MarketCreateSerializer,
                   responses={201: MarketSerializer, 400: error_response("A field is not valid; nothing was written.", "invalid"),
                              401: UNAUTHENTICATED, 403: NOT_STAFF})
    def post(self, request):
        data = _body(request)
        checked = MarketCreateSerializer(data=data)
        checked.is_valid(raise_exception=True)
        fields = {k: v for k, v in checked.validated_data.items() if k != "curve"}
        market = services.market_create(curve=data.get("curve"), created_by_id=request.user.pk, **fields)
        return Response(MarketSerializer(market).data, status=status.HTTP_201_CREATED)


class MarketDetailView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: MarketSerializer, 404: NOT_FOUND})
    def get(self, request, market_id: int):
        return Response(MarketSerializer(selectors.market_get(market_id)).data)


class MarketQuoteView(APIView):
    """The server's price for an order, from the same function a trade executes (nothing written)."""

    authentication_classes = [PlayerTokenAuthentication, SessionAuthentication]
    permission_classes = [permissions.AllowAny]

    @extend_schema(request=MarketOrderSerializer, responses={200: MarketFillSerializer, 400: BAD_ORDER, 404: NOT_FOUND,
                                                       409: REFUSED})
    def post(self, request, market_id: int):
        user_id = request.user.pk if request.user.is_authenticated else None
        fill = selectors.trade_quote(market_id=market_id, user_id=user_id, order=_order(request))
        return JsonResponse(fill.as_dict())


def trade_representation(trade) -> dict:
    o = trade.outcome
    with calc():
        avg_price = trade.cost / trade.shares
    return {"id": trade.pk, "market": trade.market_id, "seq": trade.seq, "outcome": o, "side": trade.kind,
            "shares": text(trade.shares), "cost": trade.points, "cost_exact": text(trade.cost), "fee": trade.fee,
            "collateral": trade.collateral, "cash": trade.cash, "avg_price": text(avg_price),
            "prob_before": text(trade.prob_before[o]), "prob_after": text(trade.prob_after[o]),
            "probabilities_after": [text(p) for p in trade.prob_after], "position_after": text(trade.position_after),
            "replayed": trade.replayed, "stops_fired": [{"stop": s, "state": st} for s, _, st in trade.stops_fired],
            "created_at": trade.created_at.isoformat()}


class MarketTradesView(APIView):
    # The token's user id is all a trade needs (apps.bets.auth); pages post with their session.
    authentication_classes = [PlayerTokenAuthentication, SessionAuthentication]
    # The API's default limits, counted in Redis in one script that also reads the trade's clock.
    throttle_classes = [MarketTradesThrottle]

    def get_permissions(self):
        return [permissions.IsAuthenticated()] if self.request.method == "POST" else [permissions.AllowAny()]

    @extend_schema(responses={200: MarketTapeSerializer(many=True), 404: NOT_FOUND},
                   parameters=[OpenApiParameter("limit", int, required=False, description="at most 200 (default 30)")])
    def get(self, request, market_id: int):
        market = selectors.market_get(market_id)
        limit = request.query_params.get("limit", "30")
        if not limit.isdigit() or not 0 < int(limit) <= 200:
            raise errors.invalid("limit is 1 to 200.", field="limit")
        return JsonResponse([trade_summary(t) for t in selectors.recent_trades(market, limit=int(limit))], safe=False)

    @extend_schema(request=MarketOrderSerializer, parameters=[IDEMPOTENCY],
                   responses={201: MarketTradeSerializer, 200: OpenApiResponse(MarketTradeSerializer, description="A replay of an "
                                                                         "Idempotency-Key: the first trade."),
                              400: BAD_ORDER, 401: UNAUTHENTICATED, 404: NOT_FOUND, 409: REFUSED,
                              422: error_response("The Idempotency-Key was used for another trade.", "idempotency_key_reused")})
    def post(self, request, market_id: int):
        trade = services.market_trade(user_id=request.user.pk, market_id=market_id, order=_order(request),
                                      idempotency_key=request.headers.get("Idempotency-Key"),
                                      now=getattr(request, "market_now", None))
        return JsonResponse(trade_representation(trade), status=200 if trade.replayed else 201)


class MarketStopsView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: MarketStopSerializer(many=True), 401: UNAUTHENTICATED, 404: NOT_FOUND})
    def get(self, request, market_id: int):
        selectors.market_get(market_id)
        return Response(MarketStopSerializer(selectors.stops_of_user(user_id=request.user.pk, market_id=market_id),
                                       many=True).data)

    @extend_schema(request=MarketStopCreateSerializer,
                   responses={201: MarketStopSerializer, 400: error_response("Bad trigger or shares.", "invalid", "unknown_outcome"),
                              401: UNAUTHENTICATED, 404: NOT_FOUND,
                              409: error_response("No position to protect, too many stops, or the market is closed.",
                                        "no_position", "too_many_stops", "market_closed")})
    def post(self, request, market_id: int):
        data = _body(request)
        stop = services.stop_create(user_id=request.user.pk, market_id=market_id, outcome=data.get("outcome"),
                                    trigger=data.get("trigger"), shares=data.get("shares"))
        return Response(MarketStopSerializer(stop).data, status=status.HTTP_201_CREATED)


class MarketStopDetailView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={204: None, 401: UNAUTHENTICATED, 404: error_response("No such active stop of yours.", "not_found")})
    def delete(self, request, market_id: int, stop_id: int):
        if not services.stop_cancel(user_id=request.user.pk, market_id=market_id, stop_id=stop_id):
            raise errors.MarketRefused("You have no such active stop.", code="not_found", status_code=404)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MarketResolveView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=MarketResolveSerializer,
                   responses={200: MarketEndedSerializer, 400: error_response("No reason or unknown outcome.", "invalid",
                                                                "unknown_outcome"),
                              401: UNAUTHENTICATED, 403: NOT_STAFF, 404: NOT_FOUND})
    def post(self, request, market_id: int):
        data = _body(request)
        paid = resolution.market_resolve(market_id=market_id, outcome=data.get("outcome"), reason=data.get("reason"),
                                         by_user_id=request.user.pk)
        return Response({"state": selectors.market_get(market_id).state, "points": paid})


class MarketCancelView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=MarketCancelSerializer,
                   responses={200: MarketEndedSerializer, 400: error_response("No reason.", "invalid"), 401: UNAUTHENTICATED,
                              403: NOT_STAFF, 404: NOT_FOUND})
    def post(self, request, market_id: int):
        data = _body(request)
        refunded = resolution.market_cancel(market_id=market_id, reason=data.get("reason"),
                                            by_user_id=request.user.pk)
        return Response({"state": selectors.market_get(market_id).state, "points": refunded})


class MarketHistoryView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: MarketHistoryPointSerializer(many=True), 404: NOT_FOUND})
    def get(self, request, market_id: int):
        return JsonResponse(selectors.market_history(selectors.market_get(market_id)), safe=False)


class MyPositionsView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(parameters=[OpenApiParameter("market", int, required=False)],
                   responses={200: MarketPositionSerializer(many=True), 400: error_response("Bad market id.", "invalid"),
                              401: UNAUTHENTICATED})
    def get(self, request):
        market = request.query_params.get("market")
        if market is not None and not market.isdigit():
            raise errors.invalid("market is a market id.", field="market")
        rows = selectors.positions_of_user(user_id=request.user.pk, market_id=int(market) if market else None)
        return Response(MarketPositionSerializer(rows, many=True).data)


class MarketLeaderboardView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: MarketLeaderboardRowSerializer(many=True)})
    def get(self, request):
        return Response(MarketLeaderboardRowSerializer(selectors.profit_leaderboard(), many=True).data)
