"""Reads for health pages: WebSocket connections per ASGI process and the engine's last cycle.

Each ASGI process's hub writes ``live:ws:{host}:{pid}:{hub}`` (a hash, 15 s TTL, refreshed every
5 s) and indexes it in the sorted set ``live:ws:procs`` (score: last report, epoch seconds).
"""
from __future__ import annotations

import redis

from apps.core import live_keys as keys


def ws_process_counts(client: redis.Redis) -> list[dict]:
    """One dict per live ASGI process: race_viewers, me_sockets, total, races, backlogged,
    conflated, pid, updated (values as strings from Redis, numbers where they parse)."""
    process_ids = client.zrange(keys.WS_PROCESSES, 0, -1)
    if not process_ids:
        return []
    pipe = client.pipeline(transaction=False)
    for process_id in process_ids:
        pipe.hgetall(keys.WS_PROCESS.format(process_id))
    out = []
    for process_id, raw in zip(process_ids, pipe.execute()):
        if raw:  # an expired hash: that process is gone
            out.append({"process": process_id, **{k: _number(v) for k, v in raw.items()}})
    return out


def engine_stats(client: redis.Redis) -> dict:
    """The active race engine's last cycle (empty when no engine ran in the last minute)."""
    return {k: _number(v) for k, v in client.hgetall(keys.ENGINE_STATS).items()}


def _number(value: str):
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return value
