"""/ws/quotes/: subscribe, snapshot, conflated updates, unsubscribe and error frames,
over the real Redis (the worker's pub/sub channels) with channels' WebsocketCommunicator."""
from __future__ import annotations

import asyncio
import math
import time

import orjson
import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from apps.core.redis import get_redis
from apps.feed.quote_hub import FANOUT_SECONDS, get_hub
from apps.market.quotes import Quote, write_quote
from stockrace.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True)]
HEADERS = [(b"origin", b"http://localhost"), (b"host", b"localhost")]


def publish(symbol: str, price: float, volume: int = 100) -> None:
    pipe = get_redis().pipeline(transaction=False)
    write_quote(pipe, Quote(symbol, price, price - 0.01, price + 0.01, volume, time.time(), time.time()))
    pipe.execute()


async def receive(comm, timeout=3.0) -> dict:
    return orjson.loads(await comm.receive_from(timeout=timeout))


def run(scenario):
    async def wrapper():
        comm = WebsocketCommunicator(application, "/ws/quotes/", headers=HEADERS)
        connected, _ = await comm.connect()
        assert connected
        try:
            await scenario(comm)
        finally:
            await comm.disconnect()
            await get_hub().close()
    async_to_sync(wrapper)()


def test_subscribe_sends_the_snapshot_from_redis(sim_stocks):
    publish("SIM001", 201.5, volume=1234)

    async def scenario(comm):
        await comm.send_to(text_data='{"action": "subscribe", "symbols": ["sim001", "SIM002", "NOPE"]}')
        ack = await receive(comm)
        assert ack == {"type": "subscribed", "symbols": ["SIM001", "SIM002"], "unknown": ["NOPE"]}
        snapshot = await receive(comm)
        assert snapshot["type"] == "snapshot"
        assert [q["symbol"] for q in snapshot["data"]] == ["SIM001"]  # SIM002 has no quote yet
        assert snapshot["data"][0]["price"] == 201.5 and snapshot["data"][0]["volume"] == 1234

    run(scenario)


def test_updates_are_conflated_to_ten_a_second_and_the_latest_price_wins(sim_stocks):
    async def scenario(comm):
        await comm.send_to(text_data='{"action": "subscribe", "symbols": ["SIM001"]}')
        await receive(comm)
        await receive(comm)  # the (empty) snapshot
        started = time.monotonic()
        for i in range(60):
            await asyncio.to_thread(publish, "SIM001", 100 + i)
        published_for = time.monotonic() - started
        frames = []
        # receive_nothing peeks without cancelling the application (a receive timeout would).
        while not await comm.receive_nothing(timeout=4 * FANOUT_SECONDS):
            frames.append(await receive(comm))
        assert frames and all(f["type"] == "quotes" for f in frames)
        prices = [q["price"] for f in frames for q in f["data"]]
        assert prices[-1] == 159  # the latest price always arrives
        assert prices == sorted(prices)
        # The hub sends one frame per fan-out tick at most: never one per published change.
        assert len(frames) <= math.ceil(published_for / FANOUT_SECONDS) + 2
        assert len(frames) < 60

    run(scenario)


def test_unsubscribe_stops_updates(sim_stocks):
    async def scenario(comm):
        await comm.send_to(text_data='{"action": "subscribe", "symbols": ["SIM002", "SIM001"]}')
        await receive(comm)
        await receive(comm)
        await comm.send_to(text_data='{"action": "unsubscribe", "symbols": ["SIM002"]}')
        assert await receive(comm) == {"type": "unsubscribed", "symbols": ["SIM001"]}
        await asyncio.to_thread(publish, "SIM002", 400)
        await asyncio.to_thread(publish, "SIM001", 200)
        frame = await receive(comm)
        assert [q["symbol"] for q in frame["data"]] == ["SIM001"]
        assert await comm.receive_nothing(timeout=3 * FANOUT_SECONDS)

    run(scenario)


@pytest.mark.parametrize("message, code", [
    ("not json", "bad_json"),
    ('["subscribe"]', "bad_action"),
    ('{"action": "buy", "symbols": ["SIM001"]}', "bad_action"),
    ('{"action": "subscribe", "symbols": "SIM001"}', "bad_symbols"),
    ('{"action": "subscribe", "symbols": []}', "bad_symbols"),
    ('{"action": "subscribe", "symbols": ["SIM 1"]}', "bad_symbols"),
    ('{"action": "subscribe", "symbols": [42]}', "bad_symbols"),
    ("x" * 5000, "bad_message"),
])
def test_a_bad_message_gets_an_error_frame_and_the_socket_stays_open(sim_stocks, message, code):
    async def scenario(comm):
        await comm.send_to(text_data=message)
        frame = await receive(comm)
        assert frame["type"] == "error" and frame["error"]["code"] == code
        await comm.send_to(text_data='{"action": "subscribe", "symbols": ["SIM003"]}')
        assert (await receive(comm))["type"] == "subscribed"

    run(scenario)


def test_too_many_symbols_is_refused(sim_stocks, monkeypatch):
    monkeypatch.setattr("apps.feed.consumers.MAX_SYMBOLS_PER_CLIENT", 2)

    async def scenario(comm):
        await comm.send_to(text_data='{"action": "subscribe", "symbols": ["SIM003", "SIM004", "SIM005"]}')
        frame = await receive(comm)
        assert frame["error"]["code"] == "too_many_symbols"

    run(scenario)
