"""Benchmark: WebSocket fan-out of race frames, from the frame's timestamp to its receipt.

    .venv/bin/python bench/ws_fanout.py --viewers 5000                          # 1 server, 1 race
    .venv/bin/python bench/ws_fanout.py --viewers 10000 --servers 2 --races 50

Starts N daphne processes (ports 8720+), one race engine, and ``--clients`` load-generator
processes (bench/ws_client.py: raw asyncio sockets). Once every viewer has its snapshot, it
measures for ``--seconds``: each frame's delay (receipt time minus the frame's Redis "ts",
which is taken at the start of the engine's cycle), frames received versus expected, and the
CPU used by the servers, the engine and the load generator (so you can see it was not the
bottleneck). Everything shares this machine's cores.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import signal
import statistics
import sys
import time

import ws_setup

from tests.support import processes

PORT0 = 8720


def _cpu(proc) -> float:
    import psutil

    t = psutil.Process(proc.pid).cpu_times()
    return t.user + t.system


def _hub_reports() -> list[dict]:
    """Each server hub's last health report (apps.live.selectors): its slowest fan-out of one
    message over the last 5 s and its viewer count."""
    from apps.core.redis import get_redis
    from apps.live.selectors import ws_process_counts

    return ws_process_counts(get_redis())


def _pct(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=5000)
    parser.add_argument("--servers", type=int, default=1)
    parser.add_argument("--races", type=int, default=1)
    parser.add_argument("--clients", type=int, default=2, help="load-generator processes")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--server", choices=("daphne", "uvicorn"), default="daphne",
                        help="uvicorn: uvloop + httptools + websockets-sansio, no per-message deflate")
    parser.add_argument("--connect-timeout", type=int,
                        help="daphne's --websocket_connect_timeout (also its handshake timeout; default 5 s, as in the Procfile)")
    parser.add_argument("--profile", metavar="DIR", help="run each server under cProfile, writing DIR/server<i>.prof")
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # run the clean-up below on SIGTERM too
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # inherited by servers and clients
    ws_setup.setup_django()
    race_ids = ws_setup.create_races(args.races)
    env = ws_setup.child_env()
    from django.db import connection

    connection.close()

    # A listen backlog above Twisted's default 50, so thousands of viewers can connect at once.
    prefix = lambda i: (sys.executable, "-m", "cProfile", "-o", f"{args.profile}/server{i}.prof") if args.profile else ()
    extra = ("--websocket_connect_timeout", str(args.connect_timeout)) if args.connect_timeout and args.server == "daphne" else ()
    servers = [processes.daphne(PORT0 + i, env=env, server=args.server, backlog=4096, extra=extra, prefix=prefix(i),
                                output=processes.INHERIT, wait=False) for i in range(args.servers)]
    engine = processes.race_engine(env=env, output=processes.INHERIT, wait=False)
    procs = [*servers, engine]
    clients = []
    try:
        for server in servers:
            server.wait_until(processes.http_answers(server.port), timeout=90, what="answering HTTP")
        targets = [(PORT0 + v % args.servers, race_ids[(v // args.servers) % len(race_ids)])
                   for v in range(args.viewers)]
        ctx = multiprocessing.get_context("fork")
        from ws_client import client_main

        for c in range(args.clients):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=client_main, args=(targets[c::args.clients], child), daemon=True)
            proc.start()
            clients.append((proc, parent))
        t0 = time.monotonic()
        connected = [parent.recv() for _, parent in clients]
        ramp = time.monotonic() - t0
        total = sum(c["connected"] for c in connected)
        print(f"{total} viewers connected in {ramp:.1f} s ({sum(c['failed'] for c in connected)} failed)",
              file=sys.stderr)
        time.sleep(2)
        cpu0 = {p.pid: _cpu(p) for p in procs}
        for _, parent in clients:
            parent.send("measure")
        start = time.monotonic()
        step = 0
        while time.monotonic() - start < args.seconds:
            ws_setup.refresh_quotes(step=step)
            step += 1
            time.sleep(1)
        wall = time.monotonic() - start
        cpu = {p.pid: _cpu(p) - cpu0[p.pid] for p in procs}
        hubs = _hub_reports()
        for _, parent in clients:
            parent.send("stop")
        results = [parent.recv() for _, parent in clients]
    finally:
        processes.Processes(procs).stop()
        for proc, _ in clients:
            proc.terminate()

    delays = [d for r in results for d in r["delays"]]
    frames = sum(r["frames"] for r in results)
    expected = total * wall  # one frame per second per viewer
    client_cpu = sum(r["cpu_seconds"] for r in results)
    summary = {
        "viewers": total, "servers": args.servers, "races": args.races, "seconds": round(wall, 1),
        "frames_received": frames, "frames_expected": round(expected),
        "p50_ms": round(_pct(delays, 0.50) * 1000, 1), "p99_ms": round(_pct(delays, 0.99) * 1000, 1),
        "max_ms": round(max(delays) * 1000, 1) if delays else None,
        "mean_ms": round(statistics.fmean(delays) * 1000, 1) if delays else None,
        "server_cpu_pct": [round(cpu[s.pid] / wall * 100, 1) for s in servers],
        "engine_cpu_pct": round(cpu[engine.pid] / wall * 100, 1),
        "loadgen_cpu_pct": round(client_cpu / wall * 100, 1), "loadgen_processes": args.clients,
        "closed_during_run": sum(r["closed"] for r in results),
        # The slowest delay of each engine second: one slow second is 1/seconds of the samples,
        # enough to set the p99 of a 20 s window on its own.
        "slowest_second_ms_by_second": [round(max(r["worst_by_second"].get(sec, 0.0) for r in results) * 1000)
                                        for sec in sorted({s for r in results for s in r["worst_by_second"]})],
        "server_fanout_ms_max_last_5s": [h.get("fanout_ms_max") for h in hubs],
        "server_viewers": [h.get("race_viewers") for h in hubs],
    }
    print(json.dumps(summary) if args.json else "\n".join(f"{k:>20}: {v}" for k, v in summary.items()))


if __name__ == "__main__":
    main()
