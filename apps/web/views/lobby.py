"""The lobby: every race a player can bet on or watch, refreshed by htmx polling."""
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.races.models import Race
from apps.web.selectors.lobby import lobby_sections, lobby_themes
from apps.web.selectors.stocks import watched_symbols


def _filters(request) -> dict:
    duration = request.GET.get("duration", "")
    if duration not in Race.Duration.values:
        duration = ""
    theme = request.GET.get("theme", "")[:64]
    return {"duration": duration, "theme": theme}


@require_GET
def lobby(request):
    filters = _filters(request)
    return render(request, "web/lobby.html", {
        "sections": lobby_sections(**filters), "filters": filters,
        "durations": Race.Duration.choices, "themes": lobby_themes(), "watched": watched_symbols(user=request.user),
    })


@require_GET
def lobby_races(request):
    """The race sections alone, for the lobby's polling and its filter form."""
    filters = _filters(request)
    return render(request, "web/partials/lobby_races.html", {"sections": lobby_sections(**filters),
                                                             "filters": filters,
                                                             "watched": watched_symbols(user=request.user)})
