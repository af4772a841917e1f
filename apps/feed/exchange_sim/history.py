"""The simulated exchange's memory: live stepping, minute checkpoints on disk, and
regeneration of any past stretch for backfill.

A checkpoint is the state (log prices) after step k. Checkpoints are appended to a JSON
Lines file named after everything that shapes the path (seed, tick rate, volatility,
listings), so a restarted simulator with the same settings reloads them, generates the steps
it missed while it was down (the exchange kept trading while our feed was away) and serves
their trades as history. A restart after a long absence (over CATCHUP_LIMIT_SECONDS) begins a
new segment at the last known prices instead: nothing is generated for that pause.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

from apps.feed.exchange_sim.model import Event, GbmModel

log = logging.getLogger("stockrace.exchange-sim")

CATCHUP_LIMIT_SECONDS = 2 * 3600
CHECKPOINT_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Checkpoint:
    k: int  # the state after step k
    logp: tuple[float, ...]
    segment_start: bool = False
    gap_from: int | None = None  # for a segment start: the previous segment generated no step after this


class GbmEngine:
    """Live stepping with checkpoints; ``history`` regenerates past trades exactly."""

    def __init__(self, model: GbmModel, *, state_dir: Path | None, now: float):
        self.model = model
        self.dt = model.dt
        self.checkpoint_every = max(1, round(CHECKPOINT_SECONDS / self.dt))
        self.checkpoints: list[Checkpoint] = []
        self.path = state_dir / f"gbm-{self.fingerprint()}.jsonl" if state_dir else None
        self.caught_up_steps = 0
        self._restore(now)

    def fingerprint(self) -> str:
        m = self.model
        spec = [m.seed, m.dt, m.volatility, [(x.symbol, x.sector, x.price, x.avg_volume) for x in m.listings]]
        return hashlib.sha1(json.dumps(spec).encode()).hexdigest()[:12]

    # ------------------------------------------------------------------ persistence
    def _restore(self, now: float) -> None:
        k_now = math.floor(now / self.dt)
        if self.path and self.path.exists():
            for line in self.path.read_text().splitlines():
                try:
                    raw = json.loads(line)
                    self.checkpoints.append(Checkpoint(raw["k"], tuple(raw["logp"]), raw.get("seg", False),
                                                       raw.get("gap_from")))
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by a kill: the one before it will do
        if not self.checkpoints:
            self.k = k_now
            self.logp = self.model.initial_state()
            self._checkpoint(segment_start=True, gap_from=k_now)
            return
        last = self.checkpoints[-1]
        self.k, self.logp = last.k, list(last.logp)
        if (k_now - last.k) * self.dt <= CATCHUP_LIMIT_SECONDS:
            for k in range(last.k + 1, k_now + 1):
                self._advance_one(k)
            self.caught_up_steps = max(0, k_now - last.k)
            log.info("restored %s and generated %d missed steps (%.0f s)", self.path.name,
                     self.caught_up_steps, self.caught_up_steps * self.dt)
        else:
            gap_from = last.k + self.checkpoint_every
            self.k = k_now
            self._checkpoint(segment_start=True, gap_from=gap_from)
            log.info("restored %s; paused %.0f s, too long to replay: new segment", self.path.name,
                     (k_now - last.k) * self.dt)

    def _checkpoint(self, segment_start: bool = False, gap_from: int | None = None) -> None:
        cp = Checkpoint(self.k, tuple(self.logp), segment_start, gap_from)
        self.checkpoints.append(cp)
        if self.path:
            record = {"k": cp.k, "logp": cp.logp}
            if segment_start:
                record.update(seg=True, gap_from=gap_from)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as fh:
                fh.write(json.dumps(record) + "\n")

    # ------------------------------------------------------------------ live
    def _advance_one(self, k: int) -> list[Event]:
        events = self.model.step(k, self.logp)
        self.k = k
        if k % self.checkpoint_every == 0:
            self._checkpoint()
        return events

    def advance_to(self, now: float) -> list[Event]:
        """Every trade from the last step to ``now`` (the steps whose time has come)."""
        k_now = math.floor(now / self.dt)
        events: list[Event] = []
        for k in range(self.k + 1, k_now + 1):
            events.extend(self._advance_one(k))
        return events

    def next_step_time(self) -> float:
        return (self.k + 1) * self.dt

    # ------------------------------------------------------------------ history
    def _segments(self) -> list[tuple[int, int, int]]:
        """(index of its first checkpoint, index after its last, its last generated step) per segment."""
        starts = [n for n, cp in enumerate(self.checkpoints) if cp.segment_start] or [0]
        out = []
        for pos, first in enumerate(starts):
            if pos + 1 < len(starts):
                nxt = self.checkpoints[starts[pos + 1]]
                last_k = max(self.checkpoints[first].k, min(nxt.gap_from or nxt.k, nxt.k))
                out.append((first, starts[pos + 1], last_k))
            else:
                out.append((first, len(self.checkpoints), self.k))
        return out

    def history(self, indices: set[int], start: float, end: float) -> list[Event]:
        """Trades of the listings in ``indices`` with start <= ts < end, exactly as they were
        (or would have been) streamed; nothing after the live step, nothing before the first
        checkpoint, nothing in a pause between segments."""
        if not self.checkpoints:
            return []
        end = min(end, math.nextafter(self.k * self.dt, math.inf))
        k_first = max(math.floor(start / self.dt), 0)
        k_last = min(math.ceil(end / self.dt), self.k)
        wanted = frozenset(indices)
        out: list[Event] = []
        for first, stop, last_k in self._segments():
            lo = max(k_first, self.checkpoints[first].k + 1)
            hi = min(k_last, last_k)
            if lo > hi:
                continue
            cp = self.checkpoints[first]
            for candidate in self.checkpoints[first:stop]:
                if candidate.k >= lo:
                    break
                cp = candidate
            logp = list(cp.logp)
            for k in range(cp.k + 1, hi + 1):
                events = self.model.step(k, logp, wanted)
                if k >= lo:
                    out.extend(e for e in events if start <= e[0] < end)
        return out
