"""Benchmark: GET /api/v1/quotes/?symbols=<50 symbols> against real daphne servers.

    .venv/bin/python bench/quotes_api.py                  # defaults below
    .venv/bin/python bench/quotes_api.py --servers 2 --clients 2 --connections 16 --seconds 15

What it does:
1. writes a live quote for each of ``--symbols`` symbols (50) into Redis database
   ``--redis-db`` (2 by default, flushed first; the app's own database is never touched) in the
   format of apps.market.quotes; the endpoint reads no table, so no database is set up;
2. starts ``--servers`` daphne processes on ports 8300+ (Django runs sync views on one thread
   per ASGI process, so one process serves one request at a time). Throttling stays on as in
   production, with the anonymous rate raised so it refuses nothing (all clients share one
   address); it costs a cache read and write in Redis per request;
3. starts ``--clients`` load-generator processes, each keeping ``--connections`` keep-alive
   HTTP/1.1 connections busy with the same prebuilt GET request for all 50 symbols;
4. reports requests per second over the measured window (after a warm-up), latency
   percentiles, non-200 answers, and the CPU used by servers and clients (they share the
   machine's cores, so the split is visible).
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import resource
import sys
import time

from _support import cpu_seconds, read_response, start_daphne, use_app_services
PORTS = range(8300, 8400)  # this bench's port range


def prepare(symbols: int, redis_db: int) -> tuple[list[str], dict]:
    """Seed the quotes; returns (symbols, environment for the servers)."""
    from stockrace import config

    use_app_services()
    os.environ["REDIS_URL"] = config.redis_url_with_db(os.environ["REDIS_URL"], redis_db)
    os.environ["API_THROTTLE_ANON"] = "100000000/min"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockrace.settings")
    import django

    django.setup()
    from apps.core.redis import get_redis, redis_now_ts
    from apps.market.demo_data import DEMO_STOCKS
    from apps.market.quotes import Quote, write_quote

    names = [row[0] for row in DEMO_STOCKS][:symbols]
    names += [f"SYM{i:03d}" for i in range(symbols - len(names))]
    client = get_redis()
    client.flushdb()
    now = redis_now_ts(client)
    pipe = client.pipeline()
    for i, symbol in enumerate(names):
        price = 100.0 + i
        write_quote(pipe, Quote(symbol=symbol, price=price, bid=price - 0.01, ask=price + 0.01,
                                volume=1_000_000 + i, ts=now, recv=now + 3600))  # fresh for the whole run
    pipe.execute()
    return names, dict(os.environ)


async def connection_loop(port: int, request: bytes, stop_at: float, measure_from: float, stats: dict) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < stop_at:
            started = time.monotonic()
            writer.write(request)
            status, body = await read_response(reader)
            done = time.monotonic()
            if started < measure_from:
                continue
            if status == 200:
                stats["ok"] += 1
                stats["latencies"].append(done - started)
                stats["bytes"] += len(body)
            else:
                stats["errors"][status] = stats["errors"].get(status, 0) + 1
    finally:
        writer.close()


def client_process(index: int, ports: list[int], request: bytes, connections: int, start_at: float,
                   warmup: float, seconds: float, queue: mp.Queue) -> None:
    stats = {"ok": 0, "latencies": [], "errors": {}, "bytes": 0}

    async def main():
        delay = start_at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.monotonic()
        measure_from, stop_at = now + warmup, now + warmup + seconds
        await asyncio.gather(*(connection_loop(ports[(index * connections + c) % len(ports)], request, stop_at,
                                               measure_from, stats) for c in range(connections)))

    asyncio.run(main())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    queue.put({**stats, "cpu": usage.ru_utime + usage.ru_stime})


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=2, help="daphne processes")
    parser.add_argument("--clients", type=int, default=2, help="load-generator processes")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections per client")
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0, help="measured window")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--redis-db", type=int, default=2, help="Redis database of the bench (flushed)")
    args = parser.parse_args()
    symbols, env = prepare(args.symbols, args.redis_db)
    request = (f"GET /api/v1/quotes/?symbols={','.join(symbols)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               "Accept: application/json\r\n\r\n").encode()
    print(f"{len(symbols)} symbols; starting {args.servers} daphne...", flush=True)
    ports, servers = start_daphne(args.servers, env, PORTS)
    try:
        server_cpu = {p.pid: cpu_seconds(p.pid) for p in servers}
        queue: mp.Queue = mp.Queue()
        start_at = time.time() + 1.0
        clients = [mp.Process(target=client_process, args=(i, ports, request, args.connections, start_at,
                                                           args.warmup, args.seconds, queue))
                   for i in range(args.clients)]
        for c in clients:
            c.start()
        results = [queue.get(timeout=args.warmup + args.seconds + 120) for _ in clients]
        for c in clients:
            c.join()
        server_used = sum(cpu_seconds(pid) - before for pid, before in server_cpu.items())
    finally:
        servers.stop()
    ok = sum(r["ok"] for r in results)
    latencies = [x for r in results for x in r["latencies"]]
    errors: dict = {}
    for r in results:
        for status, n in r["errors"].items():
            errors[status] = errors.get(status, 0) + n
    if not latencies:
        print("no successful request in the measured window", errors)
        return 1
    ms = lambda p: pct(latencies, p) * 1000  # noqa: E731
    print(f"\nservers: {args.servers} daphne, clients: {args.clients} processes x {args.connections} connections, "
          f"{args.seconds:g} s measured after {args.warmup:g} s warm-up")
    print(f"  {ok / args.seconds:,.0f} requests/s ({ok:,} answered 200, {sum(errors.values())} others {errors})")
    print(f"  latency ms: p50 {ms(50):.1f}, p90 {ms(90):.1f}, p99 {ms(99):.1f}, max {max(latencies) * 1000:.1f}")
    print(f"  response size {sum(r['bytes'] for r in results) // max(ok, 1):,} bytes")
    print(f"  CPU seconds: servers {server_used:.1f}, clients {sum(r['cpu'] for r in results):.1f} "
          f"(window+warm-up {args.seconds + args.warmup:g} s on {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
