"""The per-process fan-out hub: one Redis subscription per watched race (or user) per process.

Why not the channel layer: with ``RedisPubSubChannelLayer`` every consumer gets its own
channel, its own Redis SUBSCRIBE and an unbounded asyncio queue (channels_redis #276), and each
message is decoded and dispatched once per viewer. Here each ASGI process holds ONE pub/sub
connection; it subscribes to ``live:race:{id}`` when its first viewer of that race arrives and
unsubscribes when the last one leaves, so a process receives one copy of each frame and only
for races its viewers watch. The frame's text, serialised once by the engine, goes to every
viewer as the same ``websocket.send`` message object; a viewer that cannot keep up holds only
the latest frame (viewer.py). Room events published by apps.core.events travel on the same
channel, so each viewer gets frames and events in publish order. The subscriptions survive Redis
restarts and failed commands (apps/core/pubsub.py): a room whose subscribe failed while Redis
was away is subscribed as soon as Redis answers again, and its waiting viewers are let in.
"""
from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
import weakref
from collections import deque

import redis.asyncio as aioredis
from django.conf import settings

from apps.core import live_keys as keys
from apps.core.pubsub import Subscriptions
from apps.live.fanout import ParallelSender
from apps.live.viewer import EVENT, FRAME, PING, Outgoing, Viewer

log = logging.getLogger(__name__)

DRAIN_INTERVAL = 0.05  # how often backed-up viewers are retried
HEALTH_INTERVAL = 5.0
HEALTH_TTL = 15
HUB_REDIS_CONNECTIONS = 32  # per ASGI process, including the pub/sub one
SEND_THREADS = 2  # threads (the loop's included) writing one frame to a room's sockets
_FRAME_HEAD = b'{"type":"frame","race":'
_SEQ = b'"seq":'


def frame_seq(data: bytes) -> int | None:
    """The sequence number of an engine frame, read without parsing the JSON (frames.py layout)."""
    if not data.startswith(_FRAME_HEAD):
        return None
    start = data.index(_SEQ, len(_FRAME_HEAD)) + len(_SEQ)
    return int(data[start:data.index(b",", start)])


class Hub:
    def __init__(self):
        self.process_id = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        # A blocking pool: a burst of snapshots (thousands of viewers reconnecting at once)
        # waits for a free connection instead of failing with "Too many connections".
        self.redis = aioredis.Redis(connection_pool=aioredis.BlockingConnectionPool.from_url(
            settings.REDIS_URL, max_connections=HUB_REDIS_CONNECTIONS, timeout=20, health_check_interval=30,
            socket_connect_timeout=5))  # a Redis host that does not answer must not hold the hub's lock for minutes
        self.pubsub = self.redis.pubsub()
        self.subscriptions = Subscriptions(self.pubsub, name="race hub")
        self.rooms: dict[str, set[Viewer]] = {}
        self.confirmed: dict[str, asyncio.Future] = {}
        self.backlogged: set[Viewer] = set()
        self.counts = {"race": 0, "me": 0}
        self.conflated_gone = 0  # conflations of viewers that already left
        self.state_cache: dict[int, tuple[float, dict]] = {}
        self.limit = settings.LIVE_WS_MAX_BUFFER_BYTES
        self._tasks: list[asyncio.Task] = []
        self._closing = False
        self.fanout_ms_max = 0.0  # the slowest fan-out of one batch of messages since the last health report
        self._started = False
        self._drain_wakeup = asyncio.Event()
        self.sender = ParallelSender(getattr(settings, "LIVE_WS_SEND_THREADS", SEND_THREADS))
        self.direct_writes = settings.LIVE_WS_DIRECT_WRITES  # the switch of the direct path below
        self.direct_sends = 0  # messages that went out whole by a direct send() (cumulative)
        self._outbox: deque[tuple[str, Outgoing]] = deque()  # received, not yet fanned out
        self._outbox_ready = asyncio.Event()
        self._flushing = asyncio.Lock()  # one flush at a time: messages leave in arrival order

    # -- lifecycle
    async def ensure_started(self) -> None:
        if self._started:
            return
        self._started = True
        self._tasks = [asyncio.create_task(coro) for coro in
                       (self._read(), self._send_outbox(), self._drain(), self._heartbeat(), self._report_health())]
        # A private control channel keeps the pub/sub connection subscribed (and thus readable)
        # even when no race is watched. Redis away: the reader subscribes it when Redis is back.
        await self.subscriptions.add(f"live:hub:{self.process_id}")

    async def aclose(self) -> None:
        """Stop the hub's tasks and close its Redis connections (tests; a server just exits)."""
        self._closing = True
        for task in self._tasks:
            task.cancel()
        # redis-py may turn a cancellation inside a read into a connection error: do not wait forever.
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2)
        _hubs.pop(asyncio.get_running_loop(), None)
        self.sender.close()
        for close in (self.pubsub.aclose, self.redis.aclose):
            try:
                await asyncio.wait_for(close(), timeout=2)
            except (asyncio.TimeoutError, OSError):
                log.warning("hub: closing a Redis connection timed out")

    def new_viewer(self, send) -> Viewer:
        viewer = Viewer(send, limit=self.limit, on_backlog=self._on_backlog)
        if not self.direct_writes:
            viewer.direct = None  # LIVE_WS_DIRECT_WRITES off: always the ordered, buffered path
        return viewer

    # -- membership
    async def join(self, channel: str, viewer: Viewer, kind: str) -> None:
        """Add ``viewer`` to the room, once its subscription is confirmed (a TimeoutError after 5 s:
        Redis away that long; the caller leaves)."""
        await self.ensure_started()
        self.counts[kind] += 1
        viewers = self.rooms.get(channel)
        if viewers is None:
            viewers = self.rooms[channel] = set()
            self.confirmed[channel] = asyncio.get_running_loop().create_future()
            viewers.add(viewer)
            await self.subscriptions.add(channel)  # Redis away: sent again by the reader
        else:
            viewers.add(viewer)
        confirmed = self.confirmed.get(channel)
        if confirmed is not None and not confirmed.done():
            # Frames published after the confirmation reach us: the snapshot read next has no gap.
            await asyncio.wait_for(asyncio.shield(confirmed), timeout=5)

    async def leave(self, channel: str, viewer: Viewer, kind: str) -> None:
        viewer.closed = True
        self.conflated_gone += viewer.conflated
        self.backlogged.discard(viewer)
        viewers = self.rooms.get(channel)
        if viewers is None or viewer not in viewers:
            return
        self.counts[kind] -= 1
        viewers.discard(viewer)
        if not viewers:
            del self.rooms[channel]
            self.confirmed.pop(channel, None)
            race_id = keys.race_id_of(channel)
            if race_id is not None:
                self.state_cache.pop(race_id, None)
            await self.subscriptions.remove(channel)  # Redis away: dropped by the reader when it is back

    # -- reading and fan-out
    async def _read(self) -> None:
        async for message in self.subscriptions.messages():
            if self._closing:
                return
            if message["type"] not in ("message", "subscribe"):
                continue  # unsubscribe confirmations, a pong: nothing for the rooms (and no channel)
            channel = message["channel"].decode()
            if message["type"] == "message":
                try:
                    self.post(channel, message["data"])
                except Exception:  # noqa: BLE001 - one bad message must not stop the room
                    log.exception("hub: message on %s not understood", channel)
            elif message["type"] == "subscribe":
                confirmed = self.confirmed.get(channel)
                if confirmed is not None and not confirmed.done():
                    confirmed.set_result(True)

    def post(self, channel: str, data: bytes) -> None:
        """Queue a message received on ``channel`` for its viewers; ``_send_outbox`` sends it."""
        if channel not in self.rooms:
            return
        seq = frame_seq(data)
        if seq is None and (race_id := keys.race_id_of(channel)) is not None:
            # A room event (started, settled, ...): the cached race state is out of date.
            self.state_cache.pop(race_id, None)
        self._outbox.append((channel, Outgoing.of(FRAME if seq is not None else EVENT, data.decode(), seq)))
        self._outbox_ready.set()

    async def fan_out(self, channel: str, data: bytes) -> None:
        """Send one message to the channel's viewers now (with anything queued before it)."""
        self.post(channel, data)
        await self.flush_outbox()

    async def _send_outbox(self) -> None:
        while True:
            if not self._outbox:
                self._outbox_ready.clear()
                await self._outbox_ready.wait()
            try:
                await self.flush_outbox()
            except Exception:  # noqa: BLE001 - one bad message must not stop the rooms
                log.exception("hub: fan-out failed")

    async def flush_outbox(self) -> None:
        """Send every queued message. The reader queues all the messages one read from Redis
        brought (the engine publishes every race's frame at the same moment), so the frames of
        all rooms go out as ONE batch of ``send()`` calls over the sender's threads, instead of
        one small fan-out per room, each waiting for the previous one."""
        async with self._flushing:
            await self._flush_outbox()

    async def _flush_outbox(self) -> None:
        started = time.perf_counter()
        batch: tuple[list[Viewer], list[Outgoing]] = ([], [])
        in_batch: set[str] = set()
        while self._outbox:
            channel, out = self._outbox.popleft()
            if channel in in_batch:
                # A second message for the same room: its first must reach the sockets first.
                self._send_batch(batch)
                batch, in_batch = ([], []), set()
            viewers = self.rooms.get(channel)
            if viewers:
                in_batch.add(channel)
                await self._offer_all(viewers, out, batch)
        self._send_batch(batch)
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.fanout_ms_max = max(self.fanout_ms_max, elapsed_ms)

    async def broadcast(self, viewers, out: Outgoing) -> None:
        """Offer ``out`` to each of ``viewers`` now."""
        batch: tuple[list[Viewer], list[Outgoing]] = ([], [])
        await self._offer_all(viewers, out, batch)
        self._send_batch(batch)

    @staticmethod
    async def _offer_all(viewers, out: Outgoing, batch: tuple[list, list]) -> None:
        """Viewers whose socket is idle go into ``batch`` (viewers, messages), to get the frame bytes
        with one ``send()`` each; the others (snapshot not out yet, something pending, bytes still
        buffered in the server, not daphne) take the ordered path of viewer.py, which conflates for
        slow ones. Two parallel lists, not a tuple per viewer: thousands of short-lived tuples per
        second get promoted by the garbage collector's young collections and trigger full
        collections, which take 0.5-0.8 s in a process holding 5,000 connections."""
        batch_viewers, batch_outs = batch
        everyone = tuple(viewers)
        if len(everyone) > 1:  # start at a random viewer, so that no one is always served last
            cut = random.randrange(len(everyone))
            everyone = everyone[cut:] + everyone[:cut]
        seq = out.seq
        for viewer in everyone:
            if seq is not None and seq <= viewer.frame_floor:
                continue  # already in its snapshot
            if viewer.takes_direct():
                batch_viewers.append(viewer)
                batch_outs.append(out)
            else:
                await viewer.offer(out)

    def _send_batch(self, batch: tuple[list[Viewer], list[Outgoing]]) -> None:
        """One ``send()`` per (viewer, message), over the sender's threads (fanout.py); what a send
        did not take goes to the server's buffer, on this thread. A viewer appears at most once."""
        viewers, outs = batch
        if not viewers:
            return
        wires = [out.wire() for out in outs]
        results = self.sender.send_all([viewer.direct.send for viewer in viewers], wires)
        for i, viewer in enumerate(viewers):
            out = outs[i]
            if results[i] == len(wires[i]):
                self.direct_sends += 1
                if out.seq is not None:
                    viewer.frame_floor = out.seq
            else:
                viewer.sent_directly(out, results[i])

    def _on_backlog(self, viewer: Viewer) -> None:
        self.backlogged.add(viewer)
        self._drain_wakeup.set()

    async def _drain(self) -> None:
        while True:
            if not self.backlogged:
                self._drain_wakeup.clear()
                await self._drain_wakeup.wait()
            await asyncio.sleep(DRAIN_INTERVAL)
            for viewer in tuple(self.backlogged):
                if await viewer.flush():
                    self.backlogged.discard(viewer)

    async def _heartbeat(self) -> None:
        interval = settings.LIVE_WS_HEARTBEAT_SECONDS
        while True:
            await asyncio.sleep(interval)
            try:
                seconds, micros = await self.redis.time()
                now = seconds + micros / 1e6
            except Exception:  # noqa: BLE001 - the heartbeat still goes out, with our clock
                now = time.time()
            out = Outgoing.of(PING, '{"type":"ping","ts":%.3f}' % now)
            self._outbox.extend((channel, out) for channel in self.rooms)
            self._outbox_ready.set()

    # -- health (docs/ARCHITECTURE-live.md, "Health")
    def stats(self) -> dict:
        conflated = self.conflated_gone + sum(v.conflated for vs in self.rooms.values() for v in vs)
        return {"race_viewers": self.counts["race"], "me_sockets": self.counts["me"],
                "total": self.counts["race"] + self.counts["me"],
                "races": sum(1 for c in self.rooms if keys.race_id_of(c) is not None),
                "backlogged": len(self.backlogged), "conflated": conflated, "direct_sends": self.direct_sends,
                "pid": os.getpid(),
                "fanout_ms_max": round(self.fanout_ms_max, 2)}

    async def report_health(self) -> None:
        key = keys.WS_PROCESS.format(self.process_id)
        now = time.time()
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(key, mapping={**self.stats(), "updated": round(now, 3)})
        self.fanout_ms_max = 0.0
        pipe.expire(key, HEALTH_TTL)
        pipe.zadd(keys.WS_PROCESSES, {self.process_id: now})
        pipe.zremrangebyscore(keys.WS_PROCESSES, "-inf", now - 4 * HEALTH_TTL)
        await pipe.execute()

    async def _report_health(self) -> None:
        while True:
            try:
                await self.report_health()
            except Exception:  # noqa: BLE001 - health reporting never takes the rooms down
                log.warning("hub: health report failed", exc_info=True)
            await asyncio.sleep(HEALTH_INTERVAL)


_hubs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def get_hub() -> Hub:
    """The hub of the running event loop (one per ASGI process; one per loop in tests)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    return hub
