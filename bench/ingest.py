"""Ingestion benchmark of the market-data worker (issue #3, item 8).

    .venv/bin/python bench/ingest.py                 # both parts, ~300k ticks each
    .venv/bin/python bench/ingest.py --ticks 600000 --symbols 100 --active 10 --port 8450

Pre-records Alpaca-format stream frames (trades and quotes of 100 synthetic symbols BNC001…
from the simulator's price model, 200 ticks a frame) and measures ticks per second through
the worker's own code, with everything on: normalisation, the in-memory book, Redis writes
and publishes (pipelined, latest quote per symbol per flush), the snapshot grid with
PostgreSQL inserts (10 symbols "in a race" every second, the rest every 15 s) and the
candle builder (1m…1M rollups upserted once a second).

1. hot path: frames fed straight into Ingestor.on_frame + the worker's flush policy;
   also a variant flushing Redis after every frame (each trade published, no conflation);
2. end to end: the real FeedWorker connects with websocket-client to a WebSocket server in a
   second process that replays the frames as fast as the socket takes them.

Redis: db 3 (STOCKRACE_TESTING=1, REDIS_TEST_DB=3 unless set): keys quote:BNC*, md:feed.
PostgreSQL: the configured database; the BNC stocks, their candles and snapshots are created
for the run and deleted at the end. Do not run it while the feed tests run (they flush db 3).
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockrace.settings")
os.environ.setdefault("STOCKRACE_TESTING", "1")
os.environ.setdefault("REDIS_TEST_DB", "3")

PREFIX = "BNC"


def record_frames(symbols: int, ticks: int, path: Path, start: float) -> int:
    """Write frames (one JSON array per line) whose provider time runs at ~50k ticks/s."""
    import orjson

    from apps.feed.exchange_sim.model import GbmModel
    from apps.feed.exchange_sim.universe import synthetic
    from apps.feed.exchange_sim.wire import stream_messages

    listings = [dataclasses.replace(x, symbol=f"{PREFIX}{n:03d}") for n, x in enumerate(synthetic(symbols, 5), 1)]
    names = [x.symbol for x in listings]
    steps = ticks // (2 * symbols)
    rate = 50_000 / (2 * symbols)  # steps per provider second
    model = GbmModel(listings, seed=5, ticks_per_second=rate)
    logp = model.initial_state()
    k0 = int(start * rate)
    with path.open("wb") as fh:
        for k in range(k0, k0 + steps):
            fh.write(orjson.dumps(stream_messages(model.step(k, logp), names, None, None)) + b"\n")
    return steps * 2 * symbols


def load_frames(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def setup_database(symbols: int) -> list[str]:
    from apps.market.models import Stock

    names = [f"{PREFIX}{n:03d}" for n in range(1, symbols + 1)]
    cleanup_database()
    Stock.objects.bulk_create([Stock(symbol=s, name=f"Bench {s}", sector="Bench", is_active=False) for s in names])
    return names


def cleanup_database() -> None:
    from apps.feed.models import PriceSnapshot
    from apps.market.models import Candle, Stock

    Candle.objects.filter(stock__symbol__startswith=PREFIX).delete()
    PriceSnapshot.objects.filter(symbol__startswith=PREFIX).delete()
    Stock.objects.filter(symbol__startswith=PREFIX).delete()


def counts() -> tuple[int, int]:
    from apps.feed.models import PriceSnapshot
    from apps.market.models import Candle

    return (PriceSnapshot.objects.filter(symbol__startswith=PREFIX).count(),
            Candle.objects.filter(stock__symbol__startswith=PREFIX).count())


def make_ingestor(names: list[str], active: int):
    from apps.core.redis import get_redis
    from apps.feed.ingest import Ingestor
    from apps.providers import AlpacaProvider
    from apps.feed.snapshots import SnapshotGrid
    from apps.market.candles import CandleBuilder
    from apps.market.sessions import session_table

    session_table()  # the calendar loads once per process, before the clock starts
    grid = SnapshotGrid(active_seconds=1.0, idle_seconds=15.0, max_fill=10.0)
    grid.active = set(names[:active])
    return Ingestor(provider=AlpacaProvider(), redis=get_redis(), candles=CandleBuilder(), grid=grid)


def hot_path(frames: list[bytes], names: list[str], active: int, *, every_frame: bool) -> dict:
    """The worker's read loop without the socket: decode, apply, and its flush policy."""
    from apps.feed.ingest import DB_FLUSH_SECONDS, REDIS_FLUSH_SECONDS

    ingestor = make_ingestor(names, active)
    started, cpu = time.perf_counter(), time.process_time()
    redis_flushes = 0
    for raw in frames:
        ingestor.on_frame(raw)
        if every_frame:
            ingestor.flush_redis()
            redis_flushes += 1
        now = time.monotonic()
        if ingestor.dirty and now - ingestor.last_redis_flush >= REDIS_FLUSH_SECONDS:
            ingestor.flush_redis()
            redis_flushes += 1
        if now - ingestor.last_db_flush >= DB_FLUSH_SECONDS:
            ingestor.flush_db()
    ingestor.flush_redis()
    ingestor.flush_db()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"ticks": ingestor.ticks, "seconds": round(elapsed, 3), "cpu_seconds": round(cpu, 3),
            "ticks_per_s": round(ingestor.ticks / elapsed), "dropped": ingestor.dropped,
            "redis_flushes": redis_flushes}


# ----------------------------------------------------------------------------- end to end
def serve(port: int, path: Path) -> None:
    """The feed server of part 2 (its own process): greet, await the subscribe, blast."""
    from websockets.asyncio.server import serve as ws_serve

    frames = load_frames(path)

    async def handler(conn):
        await conn.send('[{"T":"success","msg":"connected"}]')
        async for message in conn:
            if b'"subscribe"' in (message if isinstance(message, bytes) else message.encode()):
                break
            await conn.send('[{"T":"success","msg":"authenticated"}]')
        for frame in frames:
            await conn.send(frame.decode())
        await conn.wait_closed()

    async def main():
        async with ws_serve(handler, "127.0.0.1", port, max_size=None, write_limit=2**20):
            print("ready", flush=True)
            await asyncio.Future()

    asyncio.run(main())


def end_to_end(path: Path, total: int, names: list[str], active: int, port: int) -> dict:
    from apps.core.redis import get_redis
    from apps.providers import AlpacaProvider
    from apps.feed.worker import FeedWorker
    from apps.market.candles import CandleBuilder

    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), "--frames", str(path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().strip() == "ready"
        stopping = threading.Event()
        provider = AlpacaProvider(key="bench", secret="bench", ws_url=f"ws://127.0.0.1:{port}/",
                                  rest_url=f"http://127.0.0.1:{port}")
        worker = FeedWorker(provider=provider, redis=get_redis(), stopping=stopping, candles=CandleBuilder(),
                            active_symbols=lambda: names[:active])
        worker.warm_up()  # the calendar loads before the clock starts (run() finds it loaded)
        thread = threading.Thread(target=worker.run, daemon=True)
        started, cpu = time.perf_counter(), time.process_time()
        thread.start()
        while worker.ingestor.ticks < total and thread.is_alive():
            time.sleep(0.02)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        stopping.set()
        thread.join(10)
        return {"ticks": worker.ingestor.ticks, "seconds": round(elapsed, 3), "cpu_seconds_worker_process": round(cpu, 3),
                "ticks_per_s": round(worker.ingestor.ticks / elapsed), "dropped": worker.ingestor.dropped}
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ticks", type=int, default=300_000)
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--active", type=int, default=10, help="symbols snapshotted every second")
    parser.add_argument("--port", type=int, default=8450)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--frames", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve, Path(args.frames))

    import django

    django.setup()
    import logging

    logging.getLogger("stockrace").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "frames.jsonl"
        results: dict = {"machine": f"{platform.node()} {os.cpu_count()} CPU, Python {platform.python_version()}",
                         "load_average_before": [round(x, 2) for x in os.getloadavg()]}
        t = time.time()
        total = record_frames(args.symbols, args.ticks, path, start=t)
        frames = load_frames(path)
        results["frames"] = len(frames)
        results["frame_bytes"] = path.stat().st_size
        names = setup_database(args.symbols)
        try:
            results["hot_path"] = hot_path(frames, names, args.active, every_frame=False)
            results["hot_path"]["snapshots_written"], results["hot_path"]["candles_written"] = counts()
            setup_database(args.symbols)
            results["hot_path_publish_every_trade"] = hot_path(frames, names, args.active, every_frame=True)
            setup_database(args.symbols)
            # Re-stamp: the frames' provider times must lie after the previous run's in Redis.
            total = record_frames(args.symbols, args.ticks, path, start=time.time() + 3600)
            results["end_to_end"] = end_to_end(path, total, names, args.active, args.port)
            results["end_to_end"]["snapshots_written"], results["end_to_end"]["candles_written"] = counts()
        finally:
            cleanup_database()
        results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
