"""With a real provider, races run only inside the regular session (their stocks trade only then);
the simulator runs the lobby around the clock."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from apps.races import calendar, generation
from apps.races.models import Race
from apps.races.services import DURATIONS, RaceError, race_create
from tests.support import factories as f

pytestmark = pytest.mark.django_db
SATURDAY_NIGHT = datetime(2026, 3, 7, 23, 0, tzinfo=timezone.utc)  # the exchange is closed
TUESDAY_1559_NY = datetime(2026, 3, 10, 19, 59, tzinfo=timezone.utc)  # one minute before the close


def test_first_fit_moves_a_race_into_the_next_session():
    start = calendar.first_fit(SATURDAY_NIGHT, timedelta(minutes=15))
    assert start == datetime(2026, 3, 9, 13, 30, tzinfo=timezone.utc)  # Monday 09:30 New York
    late = calendar.first_fit(TUESDAY_1559_NY, timedelta(minutes=5))  # would end after the close
    assert late == datetime(2026, 3, 11, 13, 30, tzinfo=timezone.utc)
    assert calendar.first_fit(late + timedelta(hours=1), timedelta(hours=1)) == late + timedelta(hours=1)
    assert calendar.within_session(late, late + timedelta(hours=1))
    assert not calendar.within_session(TUESDAY_1559_NY, TUESDAY_1559_NY + timedelta(minutes=5))


def test_a_real_feed_refuses_a_race_outside_the_session(settings):
    settings.MARKET_DATA_PROVIDER = "finnhub"
    for symbol in ("AAA", "BBB", "CCC"):
        f.StockFactory(symbol=symbol)
    with pytest.raises(RaceError, match="regular session"):
        race_create(title="night", duration="5m", symbols=["AAA", "BBB", "CCC"], starts_at=SATURDAY_NIGHT)
    settings.MARKET_DATA_PROVIDER = "simulator"  # the simulator trades around the clock
    assert race_create(title="night", duration="5m", symbols=["AAA", "BBB", "CCC"], starts_at=SATURDAY_NIGHT)


def test_the_generator_fills_the_lobby_with_the_next_sessions_races(settings):
    settings.MARKET_DATA_PROVIDER = "finnhub"
    settings.RACE_LOBBY_TARGET = 5
    for i in range(10):
        f.StockFactory(symbol=f"G{i:02d}", sector="Technology")
    f.write_quotes({f"G{i:02d}": 100.0 for i in range(10)})  # only stocks with a live quote are raced
    created = generation.lobby_fill(now=SATURDAY_NIGHT, rng=random.Random(1))
    assert created
    for race in created:
        assert calendar.within_session(race.starts_at, race.ends_at), race
        assert race.ends_at - race.starts_at <= DURATIONS[Race.Duration.DAY]
