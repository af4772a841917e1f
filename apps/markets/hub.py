"""One Redis pub/sub listener per ASGI process for the market pages' sockets.

The process subscribes, on one connection, to the channels of the markets its own viewers watch
(reference counted). A hot market trades hundreds of times a second, so its ``trade`` events are
merged: every FANOUT_SECONDS each viewer gets one frame with the latest probabilities and the
trades since the last frame (the last TRADES_PER_FRAME of them). Other events (closed, resolved,
cancelled) go out at once, after any pending trade frame. One JSON decode per event per process.
The subscriptions survive Redis restarts and failed commands (apps/core/pubsub.py).
"""
from __future__ import annotations

import asyncio
import json
import logging
import weakref

import redis.asyncio as aioredis
from django.conf import settings

from apps.core.pubsub import Subscriptions
from apps.markets.events import market_channel

log = logging.getLogger("stockrace.markets.hub")
FANOUT_SECONDS = 0.1
TRADES_PER_FRAME = 20


class MarketHub:
    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.redis = aioredis.from_url(settings.REDIS_URL, decode_responses=True, socket_connect_timeout=5)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.subscriptions = Subscriptions(self.pubsub, name="market hub")
        self.viewers: dict[int, set] = {}
        self.channels: dict[str, int] = {}
        self.pending: dict[int, dict] = {}  # market -> the merged trade event not sent yet
        self.tasks: list[asyncio.Task] = []
        self._lock = asyncio.Lock()

    async def watch(self, viewer, market_id: int) -> None:
        async with self._lock:
            first = market_id not in self.viewers
            self.viewers.setdefault(market_id, set()).add(viewer)
            if not self.tasks:
                self.tasks = [self.loop.create_task(self._read()), self.loop.create_task(self._fan_out())]
            if first:  # Redis away: subscribed when it answers again (the viewers are kept)
                channel = market_channel(market_id)
                self.channels[channel] = market_id
                await self.subscriptions.add(channel)

    async def unwatch(self, viewer, market_id: int) -> None:
        async with self._lock:
            viewers = self.viewers.get(market_id)
            if viewers is None:
                return
            viewers.discard(viewer)
            if not viewers:
                del self.viewers[market_id]
                self.pending.pop(market_id, None)
                channel = market_channel(market_id)
                self.channels.pop(channel, None)
                await self.subscriptions.remove(channel)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks = []
        await self.pubsub.aclose()
        await self.redis.aclose()
        _hubs.pop(self.loop, None)

    def _merge(self, market_id: int, event: dict) -> None:
        pending = self.pending.get(market_id)
        if pending is None:
            self.pending[market_id] = event
            return
        trades = pending["data"].get("trades", []) + event["data"].get("trades", [])
        event["data"]["trades"] = trades[-TRADES_PER_FRAME:]
        event["data"]["count"] = pending["data"].get("count", 0) + event["data"].get("count", 0)
        self.pending[market_id] = event

    async def _send(self, market_id: int, text: str) -> None:
        for viewer in list(self.viewers.get(market_id, ())):
            try:
                await viewer.send(text_data=text)
            except Exception as exc:  # one closed socket must not stop the others
                log.debug("market hub: send failed: %s", exc)

    async def _read(self) -> None:
        async for message in self.subscriptions.messages():
            if message.get("type") != "message":
                continue
            market_id = self.channels.get(message["channel"])
            if market_id is None:
                continue
            try:
                event = json.loads(message["data"])
            except ValueError:
                continue
            if event.get("type") == "trade":
                self._merge(market_id, event)
            else:
                if market_id in self.pending:
                    await self._send(market_id, json.dumps(self.pending.pop(market_id)))
                await self._send(market_id, message["data"])

    async def _fan_out(self) -> None:
        while True:
            await asyncio.sleep(FANOUT_SECONDS)
            pending, self.pending = self.pending, {}
            for market_id, event in pending.items():
                await self._send(market_id, json.dumps(event, separators=(",", ":")))


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, MarketHub]" = weakref.WeakKeyDictionary()


def get_hub() -> MarketHub:
    """The hub of the running event loop (one per ASGI process; tests get one per loop)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = MarketHub(loop)
    return hub
