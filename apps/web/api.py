"""Watchlist API for mobile clients: the stocks a player follows (the pages' star button).

    GET    /api/v1/me/watchlist/            the list, paginated, each stock with its live quote
    POST   /api/v1/me/watchlist/            {"symbol": "AAPL"}: 201 added, 200 if already there
    DELETE /api/v1/me/watchlist/{symbol}/   204, watched or not
"""
from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api import ApiError, Pagination
from apps.core.redis import get_redis
from apps.market import selectors as market_selectors
from apps.market.api import stock_payload
from apps.market.quotes import read_quotes_at
from apps.web.selectors.stocks import watchlist_items
from apps.web.serializers import WatchlistAddSerializer, WatchlistItemSerializer
from apps.web.services import watchlist_add, watchlist_remove


def _items(rows) -> list[dict]:
    quotes, now = read_quotes_at(get_redis(), [row.stock.symbol for row in rows])
    return [{"stock": stock_payload(row.stock, quotes.get(row.stock.symbol), now), "added_at": row.created_at}
            for row in rows]


def _stock(symbol: str, *, field: str | None = None):
    stock = market_selectors.stock_get(symbol=symbol.strip().upper()) if symbol and len(symbol) <= 16 else None
    if stock is None:
        message = f"No stock with the symbol {symbol[:20]!r}."
        if field:
            raise ApiError(f"{field}: {message}", code="invalid", fields={field: [message]})
        raise ApiError(message, code="not_found", status_code=404)
    return stock


class WatchlistView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    pagination_class = Pagination

    @extend_schema(summary="My watchlist", responses={200: WatchlistItemSerializer(many=True)})
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(watchlist_items(user=request.user), request, view=self)
        return paginator.get_paginated_response(_items(page))

    @extend_schema(summary="Watch a stock", request=WatchlistAddSerializer, responses={
        201: WatchlistItemSerializer, 200: OpenApiResponse(WatchlistItemSerializer, description="Already watched")})
    def post(self, request):
        data = WatchlistAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row, created = watchlist_add(user=request.user, stock=_stock(data.validated_data["symbol"], field="symbol"))
        return Response(_items([row])[0], status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class WatchlistItemView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(summary="Stop watching a stock", responses={204: None})
    def delete(self, request, symbol: str):
        watchlist_remove(user=request.user, stock=_stock(symbol))
        return Response(status=status.HTTP_204_NO_CONTENT)
