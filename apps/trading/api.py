"""Trading API: orders (place, preview, list, cancel), the live portfolio and its history, the
trade history (filters, CSV) and the returns leaderboard. Views parse and call services and
selectors; every refusal is the one error shape, documented per endpoint."""
from __future__ import annotations

import csv
from datetime import datetime, time, timezone

from django.http import JsonResponse, StreamingHttpResponse
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.bets.auth import PlayerTokenAuthentication
from apps.core.api import ApiError
from apps.trading import leaderboard, selectors, services
from apps.trading.models import Order
from apps.trading.rules import OrderRefused, parse_order
from apps.core.schema import error_response
from apps.trading.serializers import (FillSerializer, ReturnsBoardSerializer, OrderRequestSerializer,
                                      OrderSerializer, PortfolioSerializer, PreviewSerializer, SnapshotSerializer,
                                      order_representation)


class Refused(ApiError):
    def __init__(self, refusal: OrderRefused):
        super().__init__(refusal.message, code=refusal.code, status_code=refusal.status, fields=refusal.fields)
        retry = refusal.extra.get("retry_after")
        if retry:
            self.wait = retry  # DRF answers it as Retry-After (kept by apps.core.api's handler)


ERR_401 = error_response("Not signed in.", "not_authenticated")
ERR_400 = error_response("Bad input; nothing written. `fields` names each bad field.", "invalid", "unknown_symbol",
               "no_position")
ERR_409 = error_response("Refused now; nothing written. A locked symbol also sends Retry-After.",
               "symbol_locked", "quote_stale", "no_quote", "insufficient_points")
ERR_429 = error_response("More than TRADE_ORDERS_PER_MINUTE orders this minute; Retry-After says when to retry.",
               "rate_limited")
IDEMPOTENCY = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
                               description="Retrying a POST with the same key returns the first order (200).")
ORDER_EXAMPLE = OpenApiExample("A market buy", request_only=True,
                               value={"symbol": "AAPL", "side": "buy", "type": "market", "quantity": "2.5"})
STOP_EXAMPLE = OpenApiExample("A stop-loss", request_only=True,
                              value={"symbol": "AAPL", "side": "sell", "type": "stop", "quantity": "2.5",
                                     "stop_price": "180.00", "time_in_force": "gtc"})
AUTH = [PlayerTokenAuthentication, SessionAuthentication]


class OrdersView(ListAPIView):
    # The token's user id is all an order needs (the position statement refuses an inactive
    # account); pages post with their session.
    authentication_classes = AUTH
    permission_classes = [permissions.IsAuthenticated]
    # Placing is limited per player in the order's own Redis round trip (TRADE_ORDERS_PER_MINUTE,
    # apps/trading/market.py) instead of DRF's cache-backed throttles, a fifth of the request's CPU.
    throttle_classes: list = []
    serializer_class = OrderSerializer

    @extend_schema(request=OrderRequestSerializer, parameters=[IDEMPOTENCY], examples=[ORDER_EXAMPLE, STOP_EXAMPLE],
                   responses={201: OrderSerializer, 200: OpenApiResponse(OrderSerializer, description="A replay of "
                              "the first order sent with this Idempotency-Key."), 400: ERR_400, 401: ERR_401,
                              403: error_response("The account cannot trade.", "account_inactive"), 409: ERR_409,
                              429: ERR_429},
                   summary="Place an order", description=(
                       "Market orders fill at once at the ask (buys) or bid (sells) of a quote younger than "
                       "TRADE_MAX_QUOTE_AGE_SECONDS, or are refused. Limit and stop orders fill at once when "
                       "marketable, else rest (status open) until the quote crosses them. The answer is the order "
                       "with its fills."))
    def post(self, request):
        try:
            order, created = services.order_place(user_id=request.user.pk, spec=parse_order(request.data),
                                                  idempotency_key=request.headers.get("Idempotency-Key"))
        except OrderRefused as refusal:
            raise Refused(refusal) from None
        return JsonResponse(order_representation(order), status=status.HTTP_201_CREATED if created else 200)

    @extend_schema(parameters=[
        OpenApiParameter("status", str, description="open, triggered, filled, cancelled, rejected, expired, "
                                                    "comma-separated; or resting (open,triggered), closed"),
        OpenApiParameter("symbol", str), OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: OrderSerializer(many=True), 400: ERR_400, 401: ERR_401}, summary="My orders")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        try:
            statuses = selectors.parse_statuses(self.request.query_params.get("status"))
        except ValueError as exc:
            raise ApiError(f"There is no order status {str(exc)[:20]!r}.", code="invalid",
                           fields={"status": [("Use open, triggered, filled, cancelled, rejected, expired, resting "
                                               "or closed.")]}) from None
        symbol = (self.request.query_params.get("symbol") or "").strip().upper()[:16] or None
        return selectors.orders_of(user_id=self.request.user.pk, statuses=statuses, symbol=symbol)


class OrderDetailView(APIView):
    authentication_classes = AUTH
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: OrderSerializer, 401: ERR_401, 404: error_response("No such order of yours.", "not_found")},
                   summary="One of my orders")
    def get(self, request, order_id: int):
        order = selectors.orders_of(user_id=request.user.pk).filter(pk=order_id).first()
        if order is None:
            raise ApiError(f"You have no order {order_id}.", code="not_found", status_code=404)
        return JsonResponse(order_representation(order))

    @extend_schema(responses={200: OrderSerializer, 401: ERR_401, 404: error_response("No such order of yours.", "not_found"),
                              409: error_response("Already filled, cancelled, rejected or expired.", "not_cancellable")},
                   summary="Cancel a resting order", description="Exactly one of a cancel and a fill racing it "
                                                                 "wins; the loser gets 409.")
    def delete(self, request, order_id: int):
        try:
            order = services.order_cancel(user_id=request.user.pk, order_id=order_id)
        except OrderRefused as refusal:
            raise Refused(refusal) from None
        return JsonResponse(order_representation(order))


class PreviewView(APIView):
    authentication_classes = AUTH
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=OrderRequestSerializer, examples=[ORDER_EXAMPLE],
                   responses={200: PreviewSerializer, 400: ERR_400, 401: ERR_401}, summary="Preview an order",
                   description="Fill price, fee, resulting position and balance, computed by the same function "
                               "that executes the order; `refusal` says what the order would be refused for now. "
                               "Writes nothing.")
    def post(self, request):
        try:
            preview = services.order_preview(user_id=request.user.pk, spec=parse_order(request.data))
        except OrderRefused as refusal:
            raise Refused(refusal) from None
        return JsonResponse(preview.as_dict())


class PortfolioView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: PortfolioSerializer, 401: ERR_401}, summary="My live portfolio",
                   description="Positions with market value (all quotes in one Redis round trip), unrealized and "
                               "realized P&L, day change from the previous close and total return.")
    def get(self, request):
        return Response(selectors.portfolio_representation(selectors.portfolio_value(user_id=request.user.pk)))


class PortfolioWatchView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={200: OpenApiResponse(description='{"until": <epoch seconds>}'),
                                            401: ERR_401},
                   summary="Keep the live portfolio coming",
                   description="While renewed (every 15 s; it lasts 30 s), the portfolio is pushed over /ws/me/ as "
                               '{"type": "portfolio", "portfolio": {...}} at most once a second.')
    def post(self, request):
        return Response({"until": services.portfolio_watch(user_id=request.user.pk)})

    @extend_schema(request=None, responses={204: None, 401: ERR_401}, summary="Stop the live portfolio")
    def delete(self, request):
        services.portfolio_unwatch(user_id=request.user.pk)
        return Response(status=204)


class PortfolioHistoryView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: SnapshotSerializer(many=True), 401: ERR_401},
                   summary="My portfolio at each session's close")
    def get(self, request):
        return Response(selectors.snapshot_history(user_id=request.user.pk))


def _day(raw: str | None, field: str, errors: dict, *, end: bool = False) -> datetime | None:
    if not raw:
        return None
    moment = parse_datetime(raw) if "T" in raw else None
    if moment is None:
        day = parse_date(raw) if len(raw) <= 10 else None
        if day is None:
            errors[field] = ["Use a date (2026-03-02) or an ISO time (2026-03-02T14:30:00Z)."]
            return None
        from datetime import timedelta

        moment = datetime.combine(day + timedelta(days=1) if end else day, time.min, tzinfo=timezone.utc)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


def trade_filters(params) -> selectors.TradeFilters:
    """?symbol=&side=&type=&from=&to=&q= as TradeFilters; ApiError (400) names bad values."""
    errors: dict[str, list[str]] = {}
    side, order_type = params.get("side") or "", params.get("type") or ""
    if side and side not in Order.Side.values:
        errors["side"] = ["Choose buy, sell, sell_short or buy_to_cover."]
    if order_type and order_type not in Order.Type.values:
        errors["type"] = ["Choose market, limit, stop or stop_limit."]
    try:
        date_from = _day(params.get("from"), "from", errors)
        date_to = _day(params.get("to"), "to", errors, end=True)
    except (ValueError, OverflowError):
        errors.setdefault("from", ["Use a date such as 2026-03-02."])
        date_from = date_to = None
    if errors:
        raise ApiError("Some filters are not valid.", code="invalid", fields=errors)
    return selectors.TradeFilters(symbol=(params.get("symbol") or "").strip().upper()[:16], side=side, type=order_type,
                                  date_from=date_from, date_to=date_to, q=(params.get("q") or "").strip()[:60])


TRADE_PARAMETERS = [
    OpenApiParameter("symbol", str), OpenApiParameter("side", str, enum=Order.Side.values),
    OpenApiParameter("type", str, enum=Order.Type.values),
    OpenApiParameter("from", str, description="a date (inclusive) or ISO time"),
    OpenApiParameter("to", str, description="a date (inclusive) or ISO time (exclusive)"),
    OpenApiParameter("q", str, description="search: symbol prefix or company name"),
]


class TradesView(ListAPIView):
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = FillSerializer

    @extend_schema(parameters=TRADE_PARAMETERS + [OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
                   responses={200: FillSerializer(many=True), 400: ERR_400, 401: ERR_401}, summary="My trades")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.trades_of(user_id=self.request.user.pk, filters=trade_filters(self.request.query_params))


class _Echo:
    def write(self, value):
        return value


class TradesCsvView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(parameters=TRADE_PARAMETERS,
                   responses={(200, "text/csv"): OpenApiResponse(description="One row per trade, same filters."),
                              400: ERR_400, 401: ERR_401}, summary="My trades as CSV")
    def get(self, request):
        qs = selectors.trades_of(user_id=request.user.pk, filters=trade_filters(request.query_params))
        writer = csv.writer(_Echo())
        response = StreamingHttpResponse((writer.writerow(row) for row in selectors.trade_csv_rows(qs)),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="stockrace-trades.csv"'
        return response


class ReturnsLeaderboardView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(parameters=[OpenApiParameter("period", str, enum=list(leaderboard.PERIODS))],
                   responses={200: ReturnsBoardSerializer, 400: error_response("Unknown period.", "invalid")},
                   summary="Returns leaderboard", description="Players by % return over the period, with at least "
                                                              "TRADE_LEADERBOARD_MIN_TRADES fills in it; house and "
                                                              "shadow-restricted players are left out.")
    def get(self, request):
        period = request.query_params.get("period") or "weekly"
        if period not in leaderboard.PERIODS:
            raise ApiError(f"There is no period {period[:20]!r}.", code="invalid",
                           fields={"period": ["Choose weekly, monthly or all_time."]})
        return Response(ReturnsBoardSerializer(leaderboard.returns_board(period=period)).data)

