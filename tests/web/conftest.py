"""Fixtures for the player pages: the demo stocks and races in every state; for the browser
tests, a real daphne server on the test database and headless Chromium."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.web.factories import WebRaceFactory


@pytest.fixture
def stocks(db):
    from apps.market.services import stock_upsert_demo_universe

    stock_upsert_demo_universe()


@pytest.fixture
def open_race(stocks):
    """An open race with its prices published, as the lifecycle does when betting opens."""
    from apps.bets.services import race_odds_publish

    race = WebRaceFactory(state="open", title="Open Sprint")
    race_odds_publish(race_id=race.pk)
    return race


@pytest.fixture
def races(stocks):
    """One race in each state a player can see, the completed one with a final order."""
    from apps.races.models import RaceEntry

    made = {state: WebRaceFactory(state=state, title=f"{state.title()} race")
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


@pytest.fixture(scope="session")
def server(django_db_setup, django_db_blocker):
    from tests.support import processes

    with processes.daphne(DB_CONN_MAX_AGE=0) as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    from tests.support.browser import chromium

    with chromium() as browser:
        yield browser
