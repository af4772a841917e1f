"""The bet suite's race: open on SYMBOLS, starting in 5 minutes, betting open for 5 already."""
from __future__ import annotations

from datetime import timedelta

from tests.support.factories import RaceFactory

SYMBOLS = ("AAPL", "MSFT", "TSLA", "NVDA")


class BetsRaceFactory(RaceFactory):
    symbols = SYMBOLS
    starts_in = timedelta(minutes=5)
    window = timedelta(minutes=10)
