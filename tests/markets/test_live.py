"""/ws/markets/{id}/: the snapshot, then trades as they commit (merged per 100 ms), resolution
events, and 4404 for an unknown market — over the real Redis with WebsocketCommunicator."""
from __future__ import annotations

import orjson
import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator

from apps.markets.hub import get_hub
from apps.markets.resolution import market_resolve
from apps.markets.services import market_trade, parse_order
from stockrace.asgi import application
from tests.markets.conftest import make_market
from tests.support.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True)]
HEADERS = [(b"origin", b"http://localhost"), (b"host", b"localhost")]


async def receive(comm, timeout=5.0) -> dict:
    return orjson.loads(await comm.receive_from(timeout=timeout))


def run(path, scenario):
    async def wrapper():
        comm = WebsocketCommunicator(application, path, headers=HEADERS)
        connected, _ = await comm.connect()
        assert connected
        try:
            await scenario(comm)
        finally:
            await comm.disconnect()
            await get_hub().close()
    async_to_sync(wrapper)()


def test_snapshot_then_trades_then_resolution():
    market = make_market()
    players = [UserFactory(balance=500) for _ in range(3)]

    async def scenario(comm):
        snapshot = await receive(comm)
        assert snapshot == {"type": "snapshot", "market": market.pk, "seq": 0, "state": "open",
                            "probabilities": ["0.500000000000000000", "0.500000000000000000"]}
        for player in players:  # three commits in a row: merged into one or two frames
            await sync_to_async(market_trade)(user_id=player.pk, market_id=market.pk,
                                              order=parse_order(outcome=0, side="buy", amount=10))
        seen = []
        while len(seen) < 3:
            frame = await receive(comm)
            assert frame["type"] == "trade" and frame["market"] == market.pk
            seen += [t["seq"] for t in frame["data"]["trades"]]
        assert seen == [1, 2, 3] and frame["data"]["seq"] == 3
        assert float(frame["data"]["probabilities"][0]) > 0.5
        await sync_to_async(market_resolve)(market_id=market.pk, outcome=0, reason="test")
        resolved = await receive(comm)
        assert resolved["type"] == "resolved" and resolved["data"]["outcome"] == 0

    run(f"/ws/markets/{market.pk}/", scenario)


def test_unknown_market_is_closed_with_4404():
    async def scenario(comm):
        closed = await comm.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4404}

    run("/ws/markets/999999/", scenario)
