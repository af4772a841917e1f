"""Fixtures for the player pages: the demo stocks and races in every state."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from apps.core.redis import redis_now


@pytest.fixture
def stocks(db):
    from apps.market.services import stock_upsert_demo_universe

    stock_upsert_demo_universe()


def make_race(*, state: str, symbols=("AAPL", "MSFT", "NVDA"), minutes: int = 5, title: str = "Test Sprint",
              theme: str = "tech", duration: str = "5m"):
    from apps.races.models import Race
    from apps.races.services import race_create

    now = redis_now()
    starts = now + timedelta(minutes=minutes) if state in ("scheduled", "open") else now - timedelta(minutes=1)
    window = timedelta(minutes=minutes + 1) if state == "open" else timedelta(seconds=30)
    race = race_create(title=title, duration=duration, symbols=list(symbols), starts_at=starts, theme=theme,
                       betting_window=window)
    Race.objects.filter(pk=race.pk).update(state=state)
    race.refresh_from_db()
    return race


@pytest.fixture
def open_race(stocks):
    return make_race(state="open", title="Open Sprint")


@pytest.fixture
def races(stocks):
    """One race in each state a player can see, the completed one with a final order."""
    from apps.races.models import RaceEntry

    made = {state: make_race(state=state, title=f"{state.title()} race")
            for state in ("scheduled", "open", "running", "calculating", "completed", "cancelled")}
    for position, entry in enumerate(RaceEntry.objects.filter(race=made["completed"]).order_by("lane"), start=1):
        entry.open_price = Decimal("100")
        entry.close_price = Decimal(100 + 4 - position)
        entry.pct_change = Decimal(4 - position)
        entry.final_position = position
        entry.save()
    return made


@pytest.fixture
def settled_bet(races, player):
    """The player's winning bet on the completed race, with the standing settlement writes."""
    from django.utils import timezone

    from apps.bets.models import Bet
    from apps.races.models import RaceStanding

    race = races["completed"]
    bet = Bet.objects.create(user=player, race=race, kind="winner", stake=40, symbol="AAPL", odds=Decimal("2.5"),
                             potential_payout=100, placed_at=timezone.now(), status=Bet.Status.WON, payout=104)
    RaceStanding.objects.create(race=race, user=player, points_won=104, staked=40, bets=1, wins=1, rank=1)
    return bet


@pytest.fixture
def logged_in(client, player):
    client.force_login(player)
    return client
