"""The running races the engine frames, read from PostgreSQL once per cycle (cheaply).

One query lists the running races; the lanes of a race (symbol and locked open price) are
loaded once when the race first appears and cached while it runs. A race whose open prices are
not all locked yet is reloaded on the next cycle.
"""
from __future__ import annotations

from dataclasses import dataclass

from apps.live.frames import Lane
from apps.races.models import Race, RaceEntry


@dataclass(frozen=True, slots=True)
class RunningRace:
    race_id: int
    ends_at: float  # epoch seconds
    lanes: tuple[Lane, ...]


class RunningRaces:
    def __init__(self):
        self._lanes: dict[int, tuple[Lane, ...]] = {}

    def load(self) -> list[RunningRace]:
        running = dict(Race.objects.filter(state=Race.State.RUNNING).values_list("id", "ends_at"))
        self._lanes = {rid: lanes for rid, lanes in self._lanes.items() if rid in running}
        missing = [rid for rid in running if rid not in self._lanes]
        if missing:
            loaded: dict[int, list[Lane]] = {rid: [] for rid in missing}
            rows = (RaceEntry.objects.filter(race_id__in=missing).order_by("race_id", "lane")
                    .values_list("race_id", "lane", "stock__symbol", "open_price"))
            for race_id, lane, symbol, open_price in rows:
                loaded[race_id].append(Lane(lane=lane, symbol=symbol,
                                            open_price=float(open_price) if open_price is not None else None))
            for race_id, lanes in loaded.items():
                if lanes and all(lane.open_price is not None for lane in lanes):
                    self._lanes[race_id] = tuple(lanes)
                else:
                    # Frame it anyway (without % change) but look again next cycle.
                    running[race_id] = (running[race_id], tuple(lanes))
        out = []
        for race_id in sorted(running):
            value = running[race_id]
            ends_at, lanes = value if isinstance(value, tuple) else (value, self._lanes[race_id])
            if lanes:
                out.append(RunningRace(race_id=race_id, ends_at=ends_at.timestamp(), lanes=lanes))
        return out
