"""Race API: the lobby list (filterable, paginated) and one race."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api import ApiError
from apps.races import selectors
from apps.races.models import Race
from apps.races.serializers import RaceDetailSerializer, RaceSerializer
from apps.races.themes import theme_is_known


def parse_race_id(value) -> int:
    """A race id from the URL, or a 404 in the one error shape."""
    try:
        race_id = int(value)
    except (TypeError, ValueError):
        race_id = 0
    if not 0 < race_id < 2**63:
        raise ApiError(f"There is no race {value}.", code="not_found", status_code=404)
    return race_id


class RaceListView(generics.ListAPIView):
    """GET /api/v1/races/?state=&duration=&theme="""

    serializer_class = RaceSerializer
    permission_classes = [AllowAny]

    @extend_schema(parameters=[
        OpenApiParameter("state", str, enum=Race.State.values),
        OpenApiParameter("duration", str, enum=Race.Duration.values),
        OpenApiParameter("theme", str, description="tech, top_gainers, custom or sector:<Sector>")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        state, duration, theme = params.get("state"), params.get("duration"), params.get("theme")
        errors = {}
        if state and state not in Race.State.values:
            errors["state"] = [f"Choose one of {', '.join(Race.State.values)}."]
        if duration and duration not in Race.Duration.values:
            errors["duration"] = [f"Choose one of {', '.join(Race.Duration.values)}."]
        if theme and (len(theme) > 64 or not theme_is_known(theme)):
            errors["theme"] = ["Unknown theme: use tech, top_gainers, custom or sector:<Sector>."]
        if errors:
            raise ApiError("Some filters are not valid.", code="invalid", fields=errors)
        return selectors.race_list(state=state, duration=duration, theme=theme)


class RaceDetailView(APIView):
    """GET /api/v1/races/{id}/ — stocks, odds, state, times, transitions, results once settled."""

    permission_classes = [AllowAny]

    @extend_schema(responses=RaceDetailSerializer, parameters=[OpenApiParameter("race_id", int, OpenApiParameter.PATH)])
    def get(self, request, race_id):
        try:
            race = selectors.race_detail(race_id=parse_race_id(race_id))
        except Race.DoesNotExist:
            raise ApiError(f"There is no race {race_id}.", code="not_found", status_code=404)
        odds = selectors.race_odds_or_none(race)
        return Response(RaceDetailSerializer(race, context={"odds": odds}).data)
