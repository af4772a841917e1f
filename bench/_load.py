"""The HTTP load generator the API benches share, and how they measure and report a phase.

A bench describes its traffic as a *session*: a generator function ``session(players, rng, **ctx)``
that yields one raw HTTP/1.1 request at a time and is sent back ``(status, body)`` of each answer
before it yields the next. ``run_http_phase`` starts ``clients`` processes, each keeping
``connections`` keep-alive connections busy with a session of its own over a disjoint slice of
the players; answers with the expected status count as done (with their latency), the others by
status and error code. Only what starts after the warm-up is counted. The servers' CPU and that of
PostgreSQL and Redis are read over the measured window, so CPU per request means something even
on a busy host, where requests per second does not.

``run_call_phase`` does the same without HTTP: processes calling a service function in a loop.

The load generator is a few lines of asyncio writing prebuilt requests: it costs far less CPU
per request than the server, and its CPU time is reported so the split is visible.
"""
from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import random
import resource
import time

from _support import cpu_seconds, read_response


def add_load_arguments(parser, *, redis_db: int) -> None:
    """The options every API bench takes: servers, their threads, the load and its window."""
    parser.add_argument("--servers", type=int, default=2, help="ASGI server processes")
    parser.add_argument("--threads", type=int, default=4, help="HTTP_THREADS per server process")
    parser.add_argument("--clients", type=int, default=2, help="load-generator processes")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections per client process")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before the measured window")
    parser.add_argument("--seconds", type=float, default=15.0, help="the measured window")
    parser.add_argument("--redis-db", type=int, default=redis_db, help="Redis database for the run (flushed)")


def _new_stats() -> dict:
    return {"accepted": 0, "latencies": [], "refused": {}}


def _refused(stats: dict, key: str) -> None:
    stats["refused"][key] = stats["refused"].get(key, 0) + 1


def _error_code(payload: bytes) -> str:
    try:
        return json.loads(payload)["error"]["code"]
    except Exception:  # noqa: BLE001 - any unexpected answer is counted by its status alone
        return "?"


def post(path: str, token: str, body: bytes, *, idempotency_key: str | None = None) -> bytes:
    """A raw keep-alive POST of a JSON body with a bearer token (and an Idempotency-Key)."""
    key = f"Idempotency-Key: {idempotency_key}\r\n" if idempotency_key else ""
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\n{key}Content-Length: {len(body)}\r\n\r\n").encode() + body


async def _connection(port: int, session, expected: int, stop_at: float, measure_from: float, stats: dict) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        request = next(session)
        while time.monotonic() < stop_at:
            started = time.monotonic()
            writer.write(request)
            status, payload = await read_response(reader)
            done = time.monotonic()
            request = session.send((status, payload))
            if started < measure_from:
                continue
            if status == expected:
                stats["accepted"] += 1
                stats["latencies"].append(done - started)
            else:
                _refused(stats, f"{status} {_error_code(payload)}")
    finally:
        writer.close()


def _client(index: int, ports: list[int], players: list, session, expected: int, connections: int,
            start_at: float, warmup: float, seconds: float, queue: mp.Queue) -> None:
    stats = _new_stats()

    async def main():
        delay = start_at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.monotonic()
        rng = random.Random(index)
        # Each connection owns a disjoint slice of the players and cycles through it.
        await asyncio.gather(*(
            _connection(ports[(index * connections + c) % len(ports)],
                        session(players[c::connections], random.Random(rng.random())), expected,
                        now + warmup + seconds, now + warmup, stats)
            for c in range(connections)))

    asyncio.run(main())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    queue.put({**stats, "cpu": usage.ru_utime + usage.ru_stime})


def run_http_phase(*, ports: list[int], servers, players: list, session, expected: int = 201, clients: int,
                   connections: int, warmup: float, seconds: float) -> dict:
    """One measured load phase against running servers (``servers``: their processes, with
    ``.pid``); ``session``: a picklable generator function (functools.partial of a module-level
    one). Returns the merged stats with the servers' and services' CPU over the measured window."""
    queue: mp.Queue = mp.Queue()
    start_at = time.time() + 1.0
    procs = [mp.Process(target=_client, args=(i, ports, players[i::clients], session, expected, connections,
                                               start_at, warmup, seconds, queue))
             for i in range(clients)]
    for p in procs:
        p.start()
    time.sleep(1.0 + warmup)
    cpu_warm = {p.pid: cpu_seconds(p.pid) for p in servers}
    services_warm = services_cpu()
    results = [queue.get() for _ in procs]
    cpu_after = {pid: cpu_seconds(pid) for pid in cpu_warm}
    services_after = services_cpu()
    for p in procs:
        p.join()
    return {**merge_results(results), "server_cpu": sum(cpu_after[p] - cpu_warm[p] for p in cpu_after),
            "services_cpu": {k: services_after[k] - services_warm.get(k, 0.0) for k in services_after}}


def _caller(index: int, setup, players: list, start_at: float, warmup: float, seconds: float,
            queue: mp.Queue) -> None:
    call = setup(index, players)  # Django set up in this process; returns the call to repeat
    stats = _new_stats()
    delay = start_at - time.time()
    if delay > 0:
        time.sleep(delay)
    now = time.monotonic()
    measure_from, stop_at = now + warmup, now + warmup + seconds
    while time.monotonic() < stop_at:
        started = time.monotonic()
        refusal = call()
        if started < measure_from:
            continue
        if refusal is None:
            stats["accepted"] += 1
            stats["latencies"].append(time.monotonic() - started)
        else:
            _refused(stats, refusal)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    queue.put({**stats, "cpu": usage.ru_utime + usage.ru_stime})


def run_call_phase(*, procs: int, players: list, setup, warmup: float, seconds: float) -> dict:
    """``procs`` processes calling a service directly (no HTTP). ``setup(index, players)`` runs in
    each (picklable, as for sessions), sets Django up and returns a function that makes one call
    and returns None when it was accepted, else the refusal's code."""
    queue: mp.Queue = mp.Queue()
    start_at = time.time() + 3.0  # Django starts up in each process first
    workers = [mp.Process(target=_caller, args=(i, setup, players[i::procs], start_at, warmup, seconds, queue))
               for i in range(procs)]
    for p in workers:
        p.start()
    services_warm = services_cpu()
    results = [queue.get() for _ in workers]
    services_after = services_cpu()
    for p in workers:
        p.join()
    return {**merge_results(results), "server_cpu": 0.0,
            "services_cpu": {k: services_after[k] - services_warm.get(k, 0.0) for k in services_after}}


def merge_results(results: list[dict]) -> dict:
    """The load processes' stats as one: accepted, sorted latencies, refusals by reason, their CPU."""
    refused: dict[str, int] = {}
    for r in results:
        for k, v in r["refused"].items():
            refused[k] = refused.get(k, 0) + v
    return {"accepted": sum(r["accepted"] for r in results),
            "latencies": sorted(x for r in results for x in r["latencies"]), "refused": refused,
            "client_cpu": sum(r["cpu"] for r in results)}


def services_cpu() -> dict[str, float]:
    """CPU seconds used so far by every PostgreSQL and Redis server process on this machine (the
    bench's requests are nearly all they serve while it runs)."""
    import psutil

    totals = {"postgres": 0.0, "redis": 0.0}
    for proc in psutil.process_iter(["name", "cpu_times"]):
        name = proc.info["name"] or ""
        kind = "postgres" if name.startswith("postgres") else "redis" if name.startswith("redis-server") else None
        if kind and proc.info["cpu_times"]:
            totals[kind] += proc.info["cpu_times"].user + proc.info["cpu_times"].system
    return totals


def report(label: str, stats: dict, seconds: float) -> None:
    lat = stats["latencies"]
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else 0.0  # noqa: E731
    done = stats["accepted"]
    print(f"{label}: {done} in {seconds:.0f} s = {done / seconds:.0f}/s; latency p50 {pct(0.5):.1f} ms, "
          f"p90 {pct(0.9):.1f} ms, p99 {pct(0.99):.1f} ms")
    print(f"  refused: {stats['refused'] or 'none'}")
    print(f"  CPU: servers {stats['server_cpu']:.1f} s over the measured window "
          f"({stats['server_cpu'] * 1000 / max(done, 1):.1f} ms per request), load generator "
          f"{stats['client_cpu']:.1f} s")
    if stats.get("services_cpu"):
        pg, rd = stats["services_cpu"]["postgres"], stats["services_cpu"]["redis"]
        print(f"  CPU: PostgreSQL {pg:.1f} s ({pg * 1000 / max(done, 1):.2f} ms per request), Redis {rd:.1f} s "
              f"({rd * 1000 / max(done, 1):.2f} ms per request) over the measured window")
