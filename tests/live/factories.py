"""The live suite's race: running for 5 s with 5 minutes to go, on AAA/BBB/CCC locked at
100/50/10 (prices locked only when it runs)."""
from __future__ import annotations

from datetime import timedelta

import factory

from apps.races.models import Race
from tests.support.factories import RaceFactory


class LiveRaceFactory(RaceFactory):
    state = Race.State.RUNNING
    symbols = ("AAA", "BBB", "CCC")
    starts_in = timedelta(seconds=-5)
    ends_in = timedelta(minutes=5)
    window = timedelta(minutes=10)
    open_prices = factory.LazyAttribute(lambda o: (100, 50, 10) if o.state == Race.State.RUNNING else ())
