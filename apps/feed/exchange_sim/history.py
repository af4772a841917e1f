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
    def _start_checkpoint(self, k_first: int) -> Checkpoint | None:
        """The latest checkpoint from which step k_first can be reached."""
        best = None
        for cp in self.checkpoints:
            if cp.k < k_first:
                best = cp
            else:
                break
        return best

    def history(self, indices: set[int], start: float, end: float) -> list[Event]:
        """Trades of the listings in ``indices`` with start <= ts < end, exactly as they were
        (or would have been) streamed; nothing after the live step, nothing before the first
        checkpoint, nothing in a pause between segments."""
        end = min(end, (self.k + 1) * self.dt)
        k_first = max(math.floor(start / self.dt), 0)
        k_last = min(math.ceil(end / self.dt), self.k)
        cp = self._start_checkpoint(k_first)
        if cp is None:
            first = self.checkpoints[0] if self.checkpoints else None
            if first is None or first.k >= k_last:
                return []
            cp, k_first = first, first.k + 1
        segment_starts = {c.k: c for c in self.checkpoints if c.segment_start and cp.k < c.k <= k_last}
        paused_from = None
        logp = list(cp.logp)
        wanted = frozenset(indices)
        out: list[Event] = []
        for k in range(cp.k + 1, k_last + 1):
            seg = segment_starts.get(k)
            if seg is not None:
                logp, paused_from = list(seg.logp), None
                continue
            if paused_from is None:
                nxt = next((c for c in sorted(segment_starts) if c > k), None)
                if nxt is not None and segment_starts[nxt].gap_from is not None and k > segment_starts[nxt].gap_from:
                    paused_from = k
            if paused_from is not None:
                continue
            events = self.model.step(k, logp, wanted)
            if k >= k_first:
                out.extend(e for e in events if start <= e[0] < end)
        return out
