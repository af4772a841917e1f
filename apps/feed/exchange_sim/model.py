"""Simulated prices: geometric Brownian motion with a market factor, a sector factor and
idiosyncratic noise, occasional jumps, a U-shaped intraday volatility and a bid/ask spread.

The model steps on a fixed grid (step k at k / ticks_per_second, epoch seconds) and draws
step k's random numbers from its own generator seeded by (seed, k). A step is therefore a
pure function of the previous state, and any stretch of history can be generated again from
the nearest checkpoint (the log prices saved once a minute): that is how the simulator
serves backfill, and how it "keeps trading" through its own restarts (see history.py).

Volatilities are per second of log return, chosen so a 5-minute race moves each stock by
about 1 % (market 0.4 %, sector 0.4 %, own 0.8 % over 5 minutes at volatility 1.0): rankings
change within a race. A weak pull to the reference price (half-life one day) keeps a demo
that runs for weeks near plausible prices.
"""
from __future__ import annotations

import math
import random
from datetime import datetime
from zoneinfo import ZoneInfo

from apps.feed.exchange_sim.universe import Listing

MARKET_SIGMA = 0.004 / math.sqrt(300)
SECTOR_SIGMA = 0.004 / math.sqrt(300)
OWN_SIGMA = 0.008 / math.sqrt(300)
JUMPS_PER_SECOND = 1 / 1200  # about one jump per stock every 20 minutes
JUMP_SIGMA = 0.012
PULL_PER_SECOND = math.log(2) / 86_400
SESSION_OPEN_SECONDS = 9.5 * 3600  # 09:30 New York
SESSION_SECONDS = 6.5 * 3600
NEW_YORK = ZoneInfo("America/New_York")

# One simulated trade (or replayed tick): time, listing index, price, size, bid, ask.
Event = tuple[float, int, float, int, float, float]


def intraday_multiplier(ts: float) -> float:
    """Volatility over the session: high at the open and the close, low at midday.

    The simulator trades around the clock, so its 6.5-hour session repeats from 09:30
    New York time: the open is busy at any hour of the day a race is held.
    """
    local = datetime.fromtimestamp(ts, NEW_YORK)
    seconds = local.hour * 3600 + local.minute * 60 + local.second
    x = ((seconds - SESSION_OPEN_SECONDS) % SESSION_SECONDS) / SESSION_SECONDS
    return 0.6 + 1.6 * (2 * x - 1) ** 2


def quote_around(price: float, intraday: float) -> tuple[float, float]:
    """A bid/ask pair around a trade price: 1-2.5 basis points each side, at least a cent apart."""
    half = max(0.005, price * (0.0001 + 0.00008 * intraday))
    bid = round(price - half, 2)
    ask = round(price + half, 2)
    if ask - bid < 0.01:
        ask = round(bid + 0.01, 2)
    return bid, ask


class GbmModel:
    """The step function; state is the list of log prices, one per listing."""

    def __init__(self, listings: list[Listing], *, seed: int, ticks_per_second: float, volatility: float = 1.0):
        self.listings = listings
        self.seed = seed
        self.dt = 1.0 / ticks_per_second
        self.volatility = volatility
        sectors = sorted({listing.sector for listing in listings})
        self.sector_of = [sectors.index(listing.sector) for listing in listings]
        self.sector_count = len(sectors)
        self.ref_log = [math.log(listing.price) for listing in listings]
        # Expected shares per trade so that a day's volume is near the listing's average volume.
        self.size_scale = [max(1.0, listing.avg_volume / SESSION_SECONDS * self.dt) for listing in listings]
        self.jump_probability = min(1.0, JUMPS_PER_SECOND * self.dt)

    def initial_state(self) -> list[float]:
        return list(self.ref_log)

    def step(self, k: int, logp: list[float], wanted: frozenset[int] | None = None) -> list[Event]:
        """Advance ``logp`` in place by step k and return its trades (all, or ``wanted`` ones),
        spread over ((k - 1) dt, k dt]: a step due at k dt never streams a later time."""
        rng = random.Random(self.seed * 1_000_000_007 + k)
        gauss, rand = rng.gauss, rng.random
        t = k * self.dt
        intraday = intraday_multiplier(t)
        scale = intraday * self.volatility * math.sqrt(self.dt)
        market = gauss(0.0, MARKET_SIGMA * scale)
        sector_moves = [gauss(0.0, SECTOR_SIGMA * scale) for _ in range(self.sector_count)]
        own_sigma = OWN_SIGMA * scale
        pull = PULL_PER_SECOND * self.dt
        n = len(logp)
        spacing = self.dt / n
        events = []
        for i in range(n):
            move = market + sector_moves[self.sector_of[i]] + gauss(0.0, own_sigma)
            if rand() < self.jump_probability:
                move += gauss(0.0, JUMP_SIGMA * self.volatility)
            size = 1 + int(rng.expovariate(1.0) * self.size_scale[i])
            logp[i] += move - pull * (logp[i] - self.ref_log[i])
            if wanted is None or i in wanted:
                price = max(0.01, round(math.exp(logp[i]), 2))
                bid, ask = quote_around(price, intraday)
                events.append((t - self.dt + (i + 1) * spacing, i, price, size, bid, ask))
        return events
