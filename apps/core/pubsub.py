"""The channels a per-process hub wants, kept subscribed on its one Redis pub/sub connection
through Redis restarts and failed commands; and the hub's reading loop.

Each hub (apps/live/hub.py, apps/feed/quote_hub.py, apps/markets/hub.py) subscribes to a
channel when its first watcher arrives and unsubscribes when the last one leaves. redis-py
records a channel as subscribed only once its SUBSCRIBE was sent, and subscribes again on a
reconnect only what it recorded: a subscribe that fails while Redis is away is forgotten, and
the hub, which counts the channel as watched, never sends it again while anyone watches.
An UNSUBSCRIBE that fails is forgotten too, and the reconnect subscribes the channel again.

So the hub says what it wants here (``add`` / ``remove``, which never raise for a Redis failure),
and ``messages()`` — the hub's only reader — makes the connection's subscriptions match it
before its next read whenever something failed (a command, a read, a reconnect); a read returns
at least every READ_SECONDS, so a repair never waits on a quiet channel. A watcher of a channel
whose subscribe failed starts receiving once Redis answers again, without anyone leaving first.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

log = logging.getLogger("stockrace.pubsub")

READ_SECONDS = 1.0  # a read returns at least this often, so that a failure is repaired soon
RETRY_FIRST, RETRY_MAX = 0.1, 2.0  # back-off between attempts while Redis is away


def _text(channel) -> str:
    return channel.decode() if isinstance(channel, bytes) else channel


class Subscriptions:
    """What ``pubsub`` (a redis.asyncio PubSub) should be subscribed to, and the loop that keeps it so.

    Every command that may connect runs under one lock: two tasks connecting the same PubSub at
    once would open two sockets, and the one left behind stays subscribed, unread."""

    def __init__(self, pubsub, *, name: str):
        self.pubsub = pubsub
        self.name = name
        self.wanted: set[str] = set()
        self.out_of_step = False  # a command, a read or a reconnect happened: compare with what is held
        self.failures = 0  # attempts that failed in the current outage (0: healthy)
        self.resyncs = 0  # outages recovered from (cumulative; for tests and health)
        self._lock = asyncio.Lock()
        self._wanted_changed = asyncio.Event()

    # -- what the hub wants
    async def add(self, *channels: str) -> bool:
        """Want ``channels``; True if their SUBSCRIBE went out now, False if it will be sent when Redis is back."""
        self.wanted.update(channels)
        self._wanted_changed.set()
        async with self._lock:
            try:
                # Sent even for a channel still held: Redis confirms it again, which a hub waiting
                # for the confirmation (the race rooms' snapshot rule) relies on.
                await self.pubsub.subscribe(*channels)
                return True
            except Exception as exc:  # noqa: BLE001 - Redis away (or any failure): messages() repairs it
                self._failed("subscribe", exc)
                return False

    async def remove(self, *channels: str) -> None:
        """Stop wanting ``channels`` (their UNSUBSCRIBE now, or at the next repair)."""
        self.wanted.difference_update(channels)
        async with self._lock:
            held = [c for c in channels if c in self._current()]
            if not held or self.pubsub.connection is None:
                return
            try:
                await self.pubsub.unsubscribe(*held)
            except Exception as exc:  # noqa: BLE001 - as in add()
                self._failed("unsubscribe", exc)

    def _current(self) -> set[str]:
        """What redis-py holds (and subscribes again on a reconnect): sent and not being dropped."""
        pending = {_text(c) for c in self.pubsub.pending_unsubscribe_channels}
        return {_text(c) for c in self.pubsub.channels} - pending

    def _failed(self, what: str, exc: BaseException) -> None:
        self.out_of_step = True
        if self.failures == 0:
            log.warning("%s: Redis pub/sub %s failed (%s); resubscribing when Redis answers", self.name, what, exc)
        self.failures += 1

    async def _sync(self) -> None:
        """Under the lock: subscribe what is wanted and not held, unsubscribe what is held and not
        wanted (raises if Redis is still away)."""
        current = self._current()
        missing, extra = self.wanted - current, current - self.wanted
        if missing:
            await self.pubsub.subscribe(*sorted(missing))
        if extra:
            await self.pubsub.unsubscribe(*sorted(extra))
        self.out_of_step = False

    async def _prepare(self) -> bool:
        """Before a read: repair what failed, reconnect a dropped connection (redis-py then
        subscribes again what it holds: compare once more). False: nothing to read from."""
        async with self._lock:
            connection = self.pubsub.connection
            if connection is not None and not connection.is_connected:
                await self.pubsub.connect()  # runs redis-py's resubscription (on_connect)
                self.out_of_step = True  # UNSUBSCRIBEs it was waiting on are forgotten by now
            if self.out_of_step or (self.wanted and not self.pubsub.subscribed):
                await self._sync()
            return self.pubsub.connection is not None and self.pubsub.subscribed

    # -- the reader
    async def messages(self) -> AsyncIterator[dict]:
        """Every message the connection reads (subscribe confirmations too, unless the PubSub
        ignores them), forever: repairs the subscriptions after any failure, backs off while
        Redis is away, and waits while nothing is wanted."""
        delay = RETRY_FIRST
        while True:
            try:
                if not await self._prepare():  # nothing wanted, nothing held: wait for a watcher
                    self._wanted_changed.clear()
                    if not self.wanted:
                        await self._wanted_changed.wait()
                    continue
                message = await self.pubsub.get_message(timeout=READ_SECONDS)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis away: back off, then reconnect and repair
                self._failed("read", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
                continue
            if self.failures:
                log.info("%s: Redis pub/sub back after %d failed attempts (%d channels)", self.name, self.failures,
                         len(self.wanted))
                self.failures = 0
                self.resyncs += 1
            delay = RETRY_FIRST
            if message is not None:
                yield message
