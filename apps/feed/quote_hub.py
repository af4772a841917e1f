"""One Redis pub/sub listener per ASGI process, fanning live quotes out to its WebSockets.

The worker publishes every quote change on ``quotes:{SYM}``. Each web process subscribes,
on one Redis connection, to the channels of the symbols its own clients watch (reference
counted), keeps the latest payload per symbol, and every FANOUT_SECONDS sends each client one
frame with the latest quote of each of its symbols that changed: at most 10 updates per
second per symbol per client, conflated (the latest price wins), whatever the feed's rate.
The cost of a quote is one decode per process, not one message per client; see
docs/ARCHITECTURE-feed.md for why this beats a channel-layer group per symbol.

Backpressure, like the race rooms' (apps/core/backpressure.py): a client whose socket holds more
than LIVE_WS_MAX_BUFFER_BYTES unsent in the server gets nothing this round; the hub keeps only
the names of its symbols that changed (at most the 50 it watches) and sends their latest quotes
once the socket drains. A client that stops reading costs the server that buffer and a set.

The subscriptions survive Redis restarts and failed commands (apps/core/pubsub.py): a symbol
whose subscribe failed while Redis was away is subscribed as soon as Redis answers again.
"""
from __future__ import annotations

import asyncio
import logging
import weakref

import redis.asyncio as aioredis
from django.conf import settings

from apps.core.pubsub import Subscriptions
from apps.market.quotes import QUOTE_CHANNEL

log = logging.getLogger("stockrace.feed.quotes")
FANOUT_SECONDS = 0.1
CHANNEL_PREFIX = QUOTE_CHANNEL.format("")


class QuoteHub:
    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.redis = aioredis.from_url(settings.REDIS_URL, decode_responses=True, socket_connect_timeout=5)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.subscriptions = Subscriptions(self.pubsub, name="quote hub")
        self.watchers: dict[str, set] = {}
        self.latest: dict[str, str] = {}  # symbol -> the JSON the worker published, sent as is
        self.dirty: set[str] = set()
        self.held: dict = {}  # backed-up client -> symbols that changed since its last frame
        self.held_rounds = 0  # rounds a client was skipped for being backed up (cumulative)
        self.tasks: list[asyncio.Task] = []
        self._lock = asyncio.Lock()

    def _ensure_running(self) -> None:
        if not self.tasks:
            self.tasks = [self.loop.create_task(self._read()), self.loop.create_task(self._fan_out())]

    async def watch(self, client, symbols: list[str]) -> None:
        async with self._lock:
            new = [s for s in symbols if s not in self.watchers]
            for symbol in symbols:
                self.watchers.setdefault(symbol, set()).add(client)
            self._ensure_running()
            if new:  # Redis away: subscribed when it answers again (the watchers are kept)
                await self.subscriptions.add(*(CHANNEL_PREFIX + s for s in new))

    async def unwatch(self, client, symbols) -> None:
        async with self._lock:
            gone = []
            for symbol in symbols:
                clients = self.watchers.get(symbol)
                if clients is None:
                    continue
                clients.discard(client)
                if not clients:
                    del self.watchers[symbol]
                    self.latest.pop(symbol, None)
                    gone.append(symbol)
            if gone:
                await self.subscriptions.remove(*(CHANNEL_PREFIX + s for s in gone))

    def forget(self, client) -> None:
        self.held.pop(client, None)

    async def close(self) -> None:
        """Stop the hub's tasks and its Redis connection (at loop shutdown, and in tests)."""
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks = []
        await self.pubsub.aclose()
        await self.redis.aclose()
        _hubs.pop(self.loop, None)

    async def _read(self) -> None:
        async for message in self.subscriptions.messages():
            if message.get("type") == "message":
                symbol = message["channel"][len(CHANNEL_PREFIX):]
                if symbol in self.watchers:
                    self.latest[symbol] = message["data"]
                    self.dirty.add(symbol)

    async def _fan_out(self) -> None:
        while True:
            await asyncio.sleep(FANOUT_SECONDS)
            if not self.dirty and not self.held:
                continue
            dirty, self.dirty = self.dirty, set()
            changed, self.held = self.held, {}
            for symbol in dirty:
                for client in self.watchers.get(symbol, ()):
                    changed.setdefault(client, set()).add(symbol)
            for client, symbols in changed.items():
                if client.backed_up():
                    self.held[client] = symbols
                    self.held_rounds += 1
                    continue
                payloads = [self.latest[s] for s in symbols if s in self.latest and client in self.watchers.get(s, ())]
                if not payloads:
                    continue
                try:
                    await client.send_quotes(payloads)
                except Exception as exc:  # one closed socket must not stop the others' updates
                    log.debug("quote hub: send failed: %s", exc)


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, QuoteHub]" = weakref.WeakKeyDictionary()


def get_hub() -> QuoteHub:
    """The hub of the running event loop (one per ASGI process; tests get one per loop)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = QuoteHub(loop)
    return hub
