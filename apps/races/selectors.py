"""Race reads shaped for the API: the lobby list and one race with its entries and results."""
from __future__ import annotations

from decimal import Decimal

from django.db.models import Prefetch, QuerySet

from apps.races.models import Race, RaceEntry, RaceTransition


def race_list(*, state: str | None = None, duration: str | None = None, theme: str | None = None) -> QuerySet[Race]:
    """Races for the lobby, soonest start first, with their stocks (2 queries per page)."""
    races = Race.objects.prefetch_related(
        Prefetch("entries", queryset=RaceEntry.objects.select_related("stock").order_by("lane")))
    if state:
        races = races.filter(state=state)
    if duration:
        races = races.filter(duration=duration)
    if theme:
        races = races.filter(theme=theme)
    return races.order_by("starts_at", "id")


def race_detail(*, race_id: int) -> Race:
    """One race with entries and transitions (3 queries). Raises Race.DoesNotExist."""
    return (Race.objects.prefetch_related(
        Prefetch("entries", queryset=RaceEntry.objects.select_related("stock").order_by("lane")),
        Prefetch("transitions", queryset=RaceTransition.objects.order_by("at", "id")),
    ).get(pk=race_id))


def race_odds_or_none(race: Race) -> dict[str, Decimal] | None:
    """Published winner odds from the bets app; None before the betting window opens."""
    if race.state == Race.State.SCHEDULED:
        return None
    try:
        from apps.bets.selectors import race_odds
    except ImportError:
        return None
    return race_odds(race)
