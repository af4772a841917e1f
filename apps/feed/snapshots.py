"""The snapshot grid: which prices become PriceSnapshot rows, and when.

Snapshots sit on multiples of their interval in provider time (SNAPSHOT_ACTIVE_SECONDS for
symbols in open or running races, SNAPSHOT_IDLE_SECONDS for the rest) and carry the last
price traded at or before that instant. The grid advances with the data, not with the wall clock:
a backfill replays the ticks of a gap through the same grid and fills it exactly, and while
the feed is down nothing is written (a stale price is never passed off as a fresh one).
A grid instant more than ``max_fill`` seconds after the last tick is skipped for the same
reason: that is a hole the DataGap records explain.
"""
from __future__ import annotations

import math


class SnapshotGrid:
    def __init__(self, *, active_seconds: float, idle_seconds: float, max_fill: float):
        self.active_seconds = active_seconds
        self.idle_seconds = idle_seconds
        self.max_fill = max_fill
        self.active: set[str] = set()
        # Grid instants are k * interval with integer k, so a backfill after a restart lands on
        # exactly the same instants as the live grid did (the unique constraint dedupes them).
        self.k_active = 0
        self.k_idle = 0
        self.next_due = math.inf  # the one comparison on the hot path
        self.last_ts: float | None = None
        self.rows: list[tuple] = []
        self.backfilling = False

    def _first_after(self, ts: float) -> None:
        self.k_active = math.floor(ts / self.active_seconds) + 1
        self.k_idle = math.floor(ts / self.idle_seconds) + 1
        self._due()

    def _due(self) -> None:
        self.next_due = min(self.k_active * self.active_seconds, self.k_idle * self.idle_seconds)

    def start(self, ts: float) -> None:
        self._first_after(ts)

    def advance(self, ts: float, latest: dict) -> None:
        """Emit every grid instant before ``ts`` (called when ts > next_due) from ``latest``:
        symbol -> [price, bid, ask, volume, ...] as it stood before the tick at ``ts``."""
        fresh_until = (self.last_ts if self.last_ts is not None else ts) + self.max_fill
        while self.next_due < ts:
            g = self.next_due
            if g > fresh_until:
                # Jump over a silence in one step instead of walking its every instant.
                self._first_after(ts - 1e-9)
                continue
            g_active = self.k_active * self.active_seconds
            g_idle = self.k_idle * self.idle_seconds
            is_active_point, is_idle_point = g_active == g, g_idle == g
            stamp = round(g, 6)
            for symbol, state in latest.items():
                if symbol in self.active:
                    if not is_active_point:
                        continue
                elif not is_idle_point:
                    continue
                self.rows.append((symbol, stamp, state[0], state[1], state[2], state[3], self.backfilling))
            if is_active_point:
                self.k_active += 1
            if is_idle_point:
                self.k_idle += 1
            self._due()

    def take(self) -> list[tuple]:
        rows, self.rows = self.rows, []
        return rows

    def give_back(self, rows: list[tuple], limit: int) -> None:
        """Rows a failed write returns, kept for the next attempt (the newest ``limit`` of them)."""
        self.rows = (rows + self.rows)[-limit:]
