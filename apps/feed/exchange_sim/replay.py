"""Replay of real 1-minute bars as a tick stream, at a chosen speed.

Files are ``<SYM>_1min.csv`` (``datetime,open,high,low,close,volume``, US/Eastern, newest
first, each bar labelled by its END minute). Every minute of the data becomes a window of
60 / speed wall seconds; within it each bar turns into ticks that start on its open, end on
its close and stay within its low and high (touching both when there are ticks enough).
Ticks are stamped with the wall-clock time they are played at, so a race run now follows a
real market day; the replay loops at the end of the data. Like the GBM model it is a pure
function of (seed, anchor), so any played stretch can be served again as history.
"""
from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from apps.feed.exchange_sim.model import Event, quote_around
from apps.feed.exchange_sim.universe import Listing

log = logging.getLogger("stockrace.exchange-sim")
NEW_YORK = ZoneInfo("America/New_York")


@dataclass(frozen=True, slots=True)
class CsvBar:
    start: float  # epoch seconds UTC of the bar's first instant
    open: float
    high: float
    low: float
    close: float
    volume: int


def read_bars(path: Path, label: str = "end") -> list[CsvBar]:
    """Bars of one CSV file, oldest first, each keyed by its START instant in UTC."""
    shift = timedelta(minutes=1) if label == "end" else timedelta(0)
    bars = []
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            try:
                local = datetime.fromisoformat(row["datetime"]).replace(tzinfo=NEW_YORK) - shift
                bars.append(CsvBar(local.timestamp(), float(row["open"]), float(row["high"]), float(row["low"]),
                                   float(row["close"]), int(float(row["volume"] or 0))))
            except (KeyError, ValueError, TypeError):
                continue
    bars.sort(key=lambda bar: bar.start)
    return bars


def bar_ticks(open_: float, high: float, low: float, close: float, n: int, rng: random.Random) -> list[float]:
    """``n`` (>= 2) prices: the first is the open, the last the close, all within
    [low, high]; with four or more the path visits the high and the low."""
    if n < 2:
        raise ValueError("a bar needs at least two ticks: its open and its close")
    low, high = min(low, open_, close), max(high, open_, close)  # tolerate quirky rows
    anchors = {0: open_, n - 1: close}
    interior = list(range(1, n - 1))
    if len(interior) >= 2:
        a, b = rng.sample(interior, 2)
        anchors[a], anchors[b] = high, low
    elif interior:
        anchors[interior[0]] = rng.choice((high, low))
    keys = sorted(anchors)
    prices = [0.0] * n
    span = high - low
    for left, right in zip(keys, keys[1:]):
        p0, p1 = anchors[left], anchors[right]
        prices[left], prices[right] = p0, p1
        steps = right - left
        for j in range(1, steps):
            frac = j / steps
            # A Brownian-bridge-like wiggle around the straight line, pinned at both anchors.
            wiggle = rng.gauss(0.0, 0.25 * span * math.sqrt(frac * (1 - frac))) if span else 0.0
            prices[left + j] = min(high, max(low, round(p0 + (p1 - p0) * frac + wiggle, 4)))
    return prices


def split_volume(volume: int, n: int, rng: random.Random) -> list[int]:
    weights = [rng.random() + 0.1 for _ in range(n)]
    total = sum(weights)
    parts = [int(volume * w / total) for w in weights]
    parts[-1] += volume - sum(parts)
    return parts


class ReplayEngine:
    """Plays minute slots of the data one after another from ``anchor`` (wall time)."""

    def __init__(self, directory: Path, *, seed: int, speed: float, ticks_per_second: float,
                 state_dir: Path | None, now: float, names: dict[str, Listing] | None = None):
        files = sorted(directory.glob("*_1min.csv"))
        if not files:
            raise FileNotFoundError(f"no *_1min.csv files in {directory}")
        series = {f.name.split("_")[0].upper(): read_bars(f) for f in files}
        series = {s: bars for s, bars in series.items() if bars}
        symbols = sorted(series)
        names = names or {}
        self.listings = [Listing(symbol=s, name=names[s].name if s in names else s,
                                 sector=names[s].sector if s in names else "Other",
                                 price=series[s][0].open, exchange="REPLAY") for s in symbols]
        minutes = sorted({bar.start for bars in series.values() for bar in bars})
        index = {start: j for j, start in enumerate(minutes)}
        self.slots: list[dict[int, CsvBar]] = [{} for _ in minutes]
        for i, symbol in enumerate(symbols):
            for bar in series[symbol]:
                self.slots[index[bar.start]][i] = bar
        self.slot_starts = minutes
        self.seed = seed
        self.window = 60.0 / speed
        self.ticks_per_bar = max(2, round(ticks_per_second * self.window))
        spec = [str(directory.resolve()), seed, speed, ticks_per_second, symbols]
        fingerprint = hashlib.sha1(json.dumps(spec).encode()).hexdigest()[:12]
        self.path = state_dir / f"replay-{fingerprint}.json" if state_dir else None
        self.anchor = now
        if self.path and self.path.exists():
            try:
                self.anchor = float(json.loads(self.path.read_text())["anchor"])
            except (ValueError, KeyError, TypeError):
                self.anchor = now
        elif self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps({"anchor": self.anchor}))
        self.played_until = now if self.anchor < now else self.anchor
        log.info("replaying %d symbols, %d minutes from %s at %.0fx (%d ticks per bar)", len(symbols),
                 len(minutes), directory, speed, self.ticks_per_bar)

    def slot_events(self, j: int, wanted: set[int] | None = None) -> list[Event]:
        """The ticks of played slot j (j counts from the anchor; the data loops)."""
        bars = self.slots[j % len(self.slots)]
        base = self.anchor + j * self.window
        n = self.ticks_per_bar
        step = self.window / n
        events = []
        for i, bar in bars.items():
            if wanted is not None and i not in wanted:
                continue
            rng = random.Random(self.seed * 1_000_000_007 + j * 10_007 + i)
            prices = bar_ticks(bar.open, bar.high, bar.low, bar.close, n, rng)
            sizes = split_volume(bar.volume, n, rng)
            for m, (price, size) in enumerate(zip(prices, sizes)):
                bid, ask = quote_around(round(price, 2), 1.0)
                events.append((base + (m + 0.5) * step, i, price, size, bid, ask))
        events.sort(key=lambda e: (e[0], e[1]))
        return events

    def _range(self, start: float, end: float, wanted: set[int] | None) -> list[Event]:
        first = max(0, math.floor((start - self.anchor) / self.window))
        last = math.ceil((end - self.anchor) / self.window)
        out = []
        for j in range(first, last):
            out.extend(e for e in self.slot_events(j, wanted) if start <= e[0] < end)
        return out

    def advance_to(self, now: float) -> list[Event]:
        if now <= self.played_until:
            return []
        events = self._range(self.played_until, now, None)
        self.played_until = now
        return events

    def next_step_time(self) -> float:
        return self.played_until + self.window / self.ticks_per_bar

    def history(self, indices: set[int], start: float, end: float) -> list[Event]:
        return self._range(max(start, self.anchor), min(end, self.played_until), indices)
