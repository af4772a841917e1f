"""The market generator: a race-winner market for every marquee race and daily stock markets for
the marathon, each made once, resolved by what the race locks."""
from __future__ import annotations

import pytest

from apps.markets.generation import markets_generate
from apps.markets.models import Market
from apps.races.models import Race
from tests.support.factories import RaceFactory, write_quotes

pytestmark = pytest.mark.django_db


def test_marquee_and_daily_markets_are_made_once():
    sprint = RaceFactory(state=Race.State.SCHEDULED, duration="5m")
    hour = RaceFactory(state=Race.State.SCHEDULED, duration="1h", symbols=["AAA", "BBB", "CCC"])
    day = RaceFactory(state=Race.State.OPEN, duration="1d", symbols=["DDD", "EEE", "FFF", "GGG"])
    write_quotes({"DDD": 101.234, "EEE": 55.0, "FFF": 12.5, "GGG": 300.0})
    made = markets_generate()
    keys = sorted(m.generation_key for m in made)
    assert f"race-winner:{hour.pk}" in keys and f"race-winner:{day.pk}" in keys
    assert not any(str(sprint.pk) in k.split(":") for k in keys)
    daily = [m for m in made if m.generation_key.startswith("daily-close:")]
    assert len(daily) == 3 and len([m for m in made if m.generation_key.startswith("daily-gain:")]) == 1
    winner = Market.objects.get(generation_key=f"race-winner:{hour.pk}")
    assert (winner.kind, winner.mechanism, winner.outcomes) == ("multi", "lmsr", ["AAA", "BBB", "CCC"])
    assert winner.closes_at == hour.starts_at and winner.resolves_by == {"type": "race_winner", "race": hour.pk}
    close = daily[0]
    assert close.resolves_by["type"] == "race_close" and close.resolves_by["race"] == day.pk
    symbol = close.resolves_by["symbol"]
    assert f"Will {symbol} close above" in close.question and close.is_generated
    assert markets_generate() == []  # once each
    assert Market.objects.count() == len(made)
