"""Benchmark: the race engine's per-second cycle time with many running races.

    .venv/bin/python bench/engine_cycle.py --races 500 --seconds 20

Creates the races in the bench database (bench/ws_setup.py: ``bench_live``, Redis db
REDIS_TEST_DB which it flushes), then runs the real engine loop (lease, Redis-aligned ticks,
one pipelined quote read, one Lua publish) in this process for ``--seconds`` and reports each
cycle's time (database query + Redis read + frame computation + publish), how late each cycle
started after its Redis second, and whether every second was framed once.
"""
from __future__ import annotations

import argparse
import statistics
import threading

import ws_setup


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--races", type=int, default=500)
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    ws_setup.setup_django()
    ws_setup.create_races(args.races)

    from django.conf import settings

    from apps.core.redis import get_redis
    from apps.live.engine import RaceEngine

    cycles = []

    class MeasuredEngine(RaceEngine):
        def record(self, result, late_ms, max_ms):
            cycles.append((result, late_ms))
            super().record(result, late_ms, max_ms)

    engine = MeasuredEngine(get_redis(), lease_ms=settings.LIVE_ENGINE_LEASE_MS)
    stopping = threading.Event()
    threading.Timer(args.seconds + 0.5, stopping.set).start()
    step = [0]

    def refresh():  # fresh quotes every second, as the market-data worker would write them
        while not stopping.wait(1.0):
            step[0] += 1
            ws_setup.refresh_quotes(step=step[0])

    threading.Thread(target=refresh, daemon=True).start()
    engine.run(stopping)

    cycles = cycles[1:]  # the first cycle also loads every race's lanes
    totals = sorted(c.total_ms for c, _ in cycles)
    reads = sorted(c.read_ms for c, _ in cycles)
    late = sorted(late for _, late in cycles)
    ticks = [c.tick for c, _ in cycles]

    def q(values, p):
        return values[min(len(values) - 1, int(p * len(values)))]

    print(f"races framed per cycle : {cycles[-1][0].races}")
    print(f"cycles                 : {len(cycles)} over {args.seconds} s; "
          f"every second framed once: {ticks == list(range(ticks[0], ticks[0] + len(ticks)))}")
    print(f"cycle ms (p50/p99/max) : {q(totals, .5):.1f} / {q(totals, .99):.1f} / {totals[-1]:.1f}"
          f"  (mean {statistics.fmean(totals):.1f})")
    print(f"  of which DB + read ms: {q(reads, .5):.1f} / {q(reads, .99):.1f} / {reads[-1]:.1f}")
    print(f"start lateness ms      : {q(late, .5):.1f} / {q(late, .99):.1f} / {late[-1]:.1f}")


if __name__ == "__main__":
    main()
