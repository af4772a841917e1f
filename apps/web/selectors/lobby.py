"""The lobby: races by state, filtered by duration and theme."""
from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Prefetch, QuerySet

from apps.races.models import Race, RaceEntry

SECTION_SIZE = 12
RECENT_SIZE = 6


@dataclass
class LobbySections:
    open: list[Race] = field(default_factory=list)
    upcoming: list[Race] = field(default_factory=list)
    running: list[Race] = field(default_factory=list)
    recent: list[Race] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.open or self.upcoming or self.running or self.recent)


def _with_entries(qs: QuerySet) -> QuerySet:
    entries = RaceEntry.objects.select_related("stock").order_by("lane")
    return qs.prefetch_related(Prefetch("entries", queryset=entries))


def lobby_sections(*, duration: str = "", theme: str = "") -> LobbySections:
    """Open, upcoming, running and recently finished races (four queries plus four prefetches)."""
    qs = Race.objects.all()
    if duration:
        qs = qs.filter(duration=duration)
    if theme:
        qs = qs.filter(theme=theme)
    qs = _with_entries(qs)
    S = Race.State
    return LobbySections(
        open=list(qs.filter(state=S.OPEN).order_by("starts_at")[:SECTION_SIZE]),
        upcoming=list(qs.filter(state=S.SCHEDULED).order_by("starts_at")[:SECTION_SIZE]),
        running=list(qs.filter(state__in=[S.RUNNING, S.CALCULATING]).order_by("ends_at")[:SECTION_SIZE]),
        recent=list(qs.filter(state__in=[S.COMPLETED, S.CANCELLED]).order_by("-ends_at")[:RECENT_SIZE]),
    )


def lobby_themes() -> list[tuple[str, int]]:
    """Each theme of the races a player can still bet on or watch, once, with how many races
    have it (one query), in the order of their labels."""
    from apps.races.themes import SECTOR_PREFIX, theme_label

    live = [Race.State.SCHEDULED, Race.State.OPEN, Race.State.RUNNING]
    rows = (Race.objects.filter(state__in=live).exclude(theme="").exclude(theme=SECTOR_PREFIX)
            .order_by().values_list("theme").annotate(n=Count("id")))
    return sorted(rows, key=lambda row: (theme_label(row[0]).lower(), row[0]))
