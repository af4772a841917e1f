"""The player pages' race: a tech sprint on AAPL/MSFT/NVDA (the demo stocks); open or
scheduled ones start in 5 minutes (an open one has taken bets for a minute), the others
started a minute ago; no prices locked unless given."""
from __future__ import annotations

from datetime import timedelta

import factory

from apps.races.models import Race
from tests.support.factories import RaceFactory

UPCOMING = (Race.State.SCHEDULED, Race.State.OPEN)


class WebRaceFactory(RaceFactory):
    title = "Test Sprint"
    theme = "tech"
    symbols = ("AAPL", "MSFT", "NVDA")
    open_prices = ()
    starts_in = factory.LazyAttribute(lambda o: timedelta(minutes=5 if o.state in UPCOMING else -1))
    window = factory.LazyAttribute(lambda o: timedelta(minutes=6) if o.state == Race.State.OPEN
                                   else timedelta(seconds=30))
