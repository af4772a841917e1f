"""``/ws/quotes/``: live quotes by symbol.

Client messages: ``{"action": "subscribe", "symbols": ["AAPL", "MSFT"]}`` and
``{"action": "unsubscribe", "symbols": [...]}``. Server frames:
``{"type": "subscribed", "symbols": [...], "unknown": [...]}``, then
``{"type": "snapshot", "data": [quote, ...]}`` (the latest quotes, from Redis), then
``{"type": "quotes", "data": [quote, ...]}`` at most every 100 ms with the latest quote of
each watched symbol that changed. A quote is ``{symbol, price, bid, ask, volume, ts, recv}``.
A bad message gets ``{"type": "error", "error": {"code", "message"}}``; the socket stays open.
A client sending faster than LIVE_WS_CLIENT_RATE is closed with 4429. A client that stops
reading gets nothing more while the server holds LIVE_WS_MAX_BUFFER_BYTES for it, then the
latest quote of each symbol that changed meanwhile (quote_hub.py).
"""
from __future__ import annotations

import re
import time

import orjson
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from apps.core.backpressure import outbound_probe, unwrap_send
from apps.core.ws import CLOSE_TOO_FAST, LeavesOnError, MessageRate

from apps.feed.quote_hub import get_hub
from apps.market.models import Stock
from apps.market.quotes import QUOTE_KEY

MAX_SYMBOLS_PER_CLIENT = 50
MAX_MESSAGE_BYTES = 4096
SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,15}$")
KNOWN_CACHE_SECONDS = 60.0
_known: tuple[float, frozenset[str]] = (0.0, frozenset())


@database_sync_to_async
def _listed_symbols() -> frozenset[str]:
    return frozenset(Stock.objects.filter(is_active=True).values_list("symbol", flat=True))


async def known_symbols() -> frozenset[str]:
    global _known
    loaded_at, symbols = _known
    if time.monotonic() - loaded_at > KNOWN_CACHE_SECONDS or not symbols:
        symbols = await _listed_symbols()
        _known = (time.monotonic(), symbols)
    return symbols


def _quote(symbol: str, raw: dict) -> dict | None:
    if not raw or not raw.get("price"):
        return None
    num = lambda v: float(v) if v not in (None, "") else None  # noqa: E731
    return {"symbol": symbol, "price": float(raw["price"]), "bid": num(raw.get("bid")), "ask": num(raw.get("ask")),
            "volume": int(float(raw.get("volume") or 0)), "ts": num(raw.get("ts")), "recv": num(raw.get("recv")),
            "stale": raw.get("stale") == "1"}


async def snapshot_quotes(hub, symbols: list[str]) -> list[dict]:
    """The latest quote of each symbol, from Redis in one round trip (also the HTTP fallback's)."""
    pipe = hub.redis.pipeline(transaction=False)
    for symbol in symbols:
        pipe.hgetall(QUOTE_KEY.format(symbol))
    quotes = (_quote(symbol, raw) for symbol, raw in zip(symbols, await pipe.execute()))
    return [q for q in quotes if q is not None]


class QuotesConsumer(LeavesOnError, AsyncWebsocketConsumer):
    # No channel layer per socket (the hub holds the subscriptions): an alias that is not configured
    # makes Channels skip it — otherwise every socket costs a SUBSCRIBE of its own, an unbounded
    # queue (channels_redis #276), and a handshake refused with 500 whenever Redis is away.
    channel_layer_alias = "quotes-hub-instead"

    async def connect(self):
        self.symbols: set[str] = set()
        self.hub = get_hub()
        self.rate = MessageRate()
        self.probe = outbound_probe(unwrap_send(self.base_send))
        await self.accept()

    def backed_up(self) -> bool:
        """True while the server holds more unsent bytes for this socket than the limit."""
        return self.probe is not None and self.probe() > settings.LIVE_WS_MAX_BUFFER_BYTES

    async def disconnect(self, code):
        self.hub.forget(self)
        if self.symbols:
            await self.hub.unwatch(self, list(self.symbols))
            self.symbols.clear()

    async def error(self, code: str, message: str) -> None:
        await self.send(text_data=orjson.dumps({"type": "error", "error": {"code": code, "message": message}}).decode())

    async def receive(self, text_data=None, bytes_data=None):
        if not self.rate.allow():
            return await self.close(code=CLOSE_TOO_FAST)
        raw = text_data if text_data is not None else bytes_data
        if raw is None or len(raw) > MAX_MESSAGE_BYTES:
            return await self.error("bad_message", f"Send a JSON object of at most {MAX_MESSAGE_BYTES} bytes.")
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return await self.error("bad_json", "The message is not valid JSON.")
        if not isinstance(message, dict) or message.get("action") not in ("subscribe", "unsubscribe"):
            return await self.error("bad_action", 'Send {"action": "subscribe" or "unsubscribe", "symbols": [...]}.')
        symbols = message.get("symbols")
        if (not isinstance(symbols, list) or not symbols
                or not all(isinstance(s, str) and SYMBOL_RE.match(s.upper()) for s in symbols)):
            return await self.error("bad_symbols", "symbols must be a non-empty list of ticker symbols.")
        symbols = list(dict.fromkeys(s.upper() for s in symbols))
        if message["action"] == "unsubscribe":
            gone = [s for s in symbols if s in self.symbols]
            self.symbols.difference_update(gone)
            await self.hub.unwatch(self, gone)
            return await self.send_json({"type": "unsubscribed", "symbols": sorted(self.symbols)})
        listed = await known_symbols()
        unknown = [s for s in symbols if s not in listed]
        wanted = [s for s in symbols if s in listed and s not in self.symbols]
        if len(self.symbols) + len(wanted) > MAX_SYMBOLS_PER_CLIENT:
            return await self.error("too_many_symbols", f"Watch at most {MAX_SYMBOLS_PER_CLIENT} symbols at once.")
        self.symbols.update(wanted)
        await self.hub.watch(self, wanted)  # watch first: no change can slip between snapshot and updates
        await self.send_json({"type": "subscribed", "symbols": sorted(self.symbols), "unknown": unknown})
        if wanted:
            await self.send_json({"type": "snapshot", "data": await self.snapshot(wanted)})

    async def snapshot(self, symbols: list[str]) -> list[dict]:
        return await snapshot_quotes(self.hub, symbols)

    async def send_json(self, content: dict) -> None:
        await self.send(text_data=orjson.dumps(content).decode())

    async def send_quotes(self, payloads: list[str]) -> None:
        """Called by the hub: the payloads are the worker's own JSON, joined without re-encoding."""
        await self.send(text_data='{"type":"quotes","data":[' + ",".join(payloads) + "]}")
