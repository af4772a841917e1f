"""``/ws/markets/{id}/``: a market's live probabilities and trades (read-only for clients).

On connect: ``{"type": "snapshot", "market", "seq", "state", "probabilities"}`` (after
subscribing, so nothing falls between the snapshot and the updates; a client drops a trade frame
whose ``seq`` is below the snapshot's), then the market's events as apps.markets.events publishes
them, trade events merged per 100 ms by the process's hub (apps.markets.hub). An unknown market is
closed with 4404. Clients may send ``{"type": "ping"}``; anything else is ignored.
"""
from __future__ import annotations

import orjson
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from apps.core.ws import LeavesOnError
from apps.markets.hub import get_hub
from apps.markets.models import Market
from apps.markets.selectors import market_state

CLOSE_UNKNOWN_MARKET = 4404
MAX_MESSAGE_BYTES = 1024


@database_sync_to_async
def _snapshot(market_id: int) -> dict | None:
    market = Market.objects.filter(pk=market_id).first()
    if market is None:
        return None
    return {"type": "snapshot", "market": market.pk, "seq": market.seq, "state": market.state,
            "probabilities": market_state(market)["probabilities"]}


class MarketConsumer(LeavesOnError, AsyncWebsocketConsumer):
    # No channel layer per socket (the hub holds the subscription): an alias that is not configured.
    channel_layer_alias = "markets-hub-instead"
    market_id = None

    async def connect(self):
        market_id = int(self.scope["url_route"]["kwargs"]["market_id"])
        await self.accept()
        if await _snapshot(market_id) is None:
            await self.close(code=CLOSE_UNKNOWN_MARKET)
            return
        self.hub = get_hub()
        await self.hub.watch(self, market_id)
        self.market_id = market_id
        await self.send(text_data=orjson.dumps(await _snapshot(market_id)).decode())

    async def disconnect(self, code):
        if self.market_id is not None:
            await self.hub.unwatch(self, self.market_id)

    async def receive(self, text_data=None, bytes_data=None):
        raw = text_data if text_data is not None else bytes_data
        if not raw or len(raw) > MAX_MESSAGE_BYTES:
            return
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return
        if isinstance(message, dict) and message.get("type") == "ping":
            await self.send(text_data='{"type":"pong"}')
