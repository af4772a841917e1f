"""Leaderboard API: global, weekly and monthly boards (past periods with ?period=), and each
race's board."""
from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api import ApiError
from apps.leaderboards import periods
from apps.leaderboards.selectors import BOARDS, BoardPage, board_page, race_board_page
from apps.leaderboards.serializers import LeaderboardPageSerializer
from apps.races.api import parse_race_id
from apps.races.models import Race

MAX_PAGE_SIZE = 200
PAGE_PARAMETERS = [OpenApiParameter("page", int), OpenApiParameter("page_size", int)]


def page_params(request) -> tuple[int, int]:
    errors = {}
    values = {}
    for name, default, high in (("page", 1, 10**6), ("page_size", settings.REST_FRAMEWORK["PAGE_SIZE"], MAX_PAGE_SIZE)):
        raw = request.query_params.get(name)
        try:
            values[name] = int(raw) if raw not in (None, "") else default
        except ValueError:
            values[name] = 0
        if not 1 <= values[name] <= high:
            errors[name] = [f"Use a whole number from 1 to {high}."]
    if errors:
        raise ApiError("Some parameters are not valid.", code="invalid", fields=errors)
    return values["page"], values["page_size"]


def board_response(request, board: BoardPage, page: int, page_size: int, extra: dict | None = None) -> Response:
    def link(n: int) -> str:
        query = request.query_params.copy()
        query["page"] = str(n)
        return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")

    has_next = page * page_size < board.count
    return Response({**(extra or {}), "board": board.board, "period": board.period, "count": board.count,
                     "next": link(page + 1) if has_next else None, "previous": link(page - 1) if page > 1 else None,
                     "results": board.rows})


class LeaderboardView(APIView):
    """GET /api/v1/leaderboards/{global|weekly|monthly}/?period=2026-W47|2026-11"""

    permission_classes = [AllowAny]

    @extend_schema(responses=LeaderboardPageSerializer, parameters=[
        OpenApiParameter("board", str, OpenApiParameter.PATH, enum=list(BOARDS)),
        OpenApiParameter("period", str, description="A past week (2026-W47) or month (2026-11); default: current.")]
        + PAGE_PARAMETERS)
    def get(self, request, board):
        if board not in BOARDS:
            raise ApiError(f"There is no leaderboard {board!r}: choose global, weekly or monthly.",
                           code="not_found", status_code=404)
        period = request.query_params.get("period")
        if period is not None and board != "global" and not periods.period_is_valid(board, period):
            example = "2026-W47" if board == "weekly" else "2026-11"
            raise ApiError(f"A {board} period looks like {example}.", code="invalid",
                           fields={"period": [f"A {board} period looks like {example}."]})
        if board == "global":
            if period not in (None, ""):
                raise ApiError("The global board has no periods.", code="invalid",
                               fields={"period": ["The global board has no periods."]})
            period = ""
        page, page_size = page_params(request)
        result = board_page(board=board, period=period, offset=(page - 1) * page_size, limit=page_size)
        return board_response(request, result, page, page_size)


class RaceLeaderboardView(APIView):
    """GET /api/v1/races/{id}/leaderboard/ — players by points won in the race (after settlement)."""

    permission_classes = [AllowAny]

    @extend_schema(responses=LeaderboardPageSerializer,
                   parameters=[OpenApiParameter("race_id", int, OpenApiParameter.PATH)] + PAGE_PARAMETERS)
    def get(self, request, race_id):
        race_id = parse_race_id(race_id)
        race = Race.objects.filter(pk=race_id).only("state").first()
        if race is None:
            raise ApiError(f"There is no race {race_id}.", code="not_found", status_code=404)
        page, page_size = page_params(request)
        board = race_board_page(race_id=race_id, offset=(page - 1) * page_size, limit=page_size)
        return board_response(request, board, page, page_size, extra={"race_id": race_id, "state": race.state})
