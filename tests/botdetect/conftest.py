"""Fair-play test helpers: throttle rates, a settled race with chosen results, bets at chosen times."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.bets.models import Bet
from apps.races.models import Race, RaceEntry, RaceTransition


def rates(settings, **changes):
    rest = {**settings.REST_FRAMEWORK}
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], **changes}
    settings.REST_FRAMEWORK = rest


def opened(race: Race, at=None) -> Race:
    """Record the race's opening transition (what the timing signal measures from)."""
    at = at or race.betting_opens_at
    RaceTransition.objects.get_or_create(race=race, to_state=Race.State.OPEN,
                                         defaults={"from_state": Race.State.SCHEDULED, "at": at, "cause": "test"})
    return race


def settle_as(race: Race, order: list[str]) -> None:
    """Lock results in this finishing order and run the real settlement."""
    from apps.races.settlement import race_settle

    n = len(order)
    for entry in RaceEntry.objects.filter(race=race).select_related("stock"):
        pos = order.index(entry.stock.symbol) + 1
        RaceEntry.objects.filter(pk=entry.pk).update(open_price=100, close_price=100 + (n - pos),
                                                     pct_change=n - pos, final_position=pos)
    Race.objects.filter(pk=race.pk).update(state=Race.State.CALCULATING)
    race_settle(race_id=race.pk)


def backdate(bet_id: int, at) -> None:
    Bet.objects.filter(pk=bet_id).update(placed_at=at)


@pytest.fixture
def now():
    return timezone.now()


timedelta = timedelta
