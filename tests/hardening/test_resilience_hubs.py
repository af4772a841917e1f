"""The per-process hubs through Redis outages, on a private redis-server the tests stop and start
(never the shared one): a subscribe that fails while Redis is away is sent again once it is back,
watchers across a restart keep receiving, what was left meanwhile is not subscribed again, and a
WebSocket whose consumer failed on the outage leaves its hub (the next watcher is served).

The hubs are the race rooms' (apps/live/hub.py), the quotes' (apps/feed/quote_hub.py) and the
prediction markets' (apps/markets/hub.py), all on apps/core/pubsub.py."""
from __future__ import annotations

import asyncio
import json
import time

import pytest
import redis
from django.conf import settings
from django.test import override_settings

from apps.core import live_keys as keys
from apps.core.ws import CLOSE_UNAVAILABLE
from tests.support import processes

WAIT = 15  # seconds allowed for a resubscription once Redis answers (it takes well under one)


@pytest.fixture
def server():
    with processes.RedisServer() as server:
        yield server


def _url(server) -> str:
    return f"unix://{server.socket}?db={settings.REDIS_TEST_DB}"


def _subscribers(server, channel: str) -> int:
    return dict(server.client().pubsub_numsub(channel)).get(channel.encode(), 0)


async def _until(check, what: str, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if value := check():
                return value
        except redis.ConnectionError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"not {what} within {timeout} s")


async def _stop(server, **kw):
    await asyncio.to_thread(server.stop, **kw)


async def _start(server):
    await asyncio.to_thread(server.start)


# --------------------------------------------------------------------------- the quotes' hub


class QuoteClient:
    def __init__(self):
        self.frames: list[list[dict]] = []

    def backed_up(self) -> bool:
        return False

    async def send_quotes(self, payloads: list[str]) -> None:
        self.frames.append([json.loads(p) for p in payloads])

    def prices(self) -> list[float]:
        return [q["price"] for frame in self.frames for q in frame]


def _publish_quote(server, symbol: str, price: float) -> int:
    from apps.market.quotes import QUOTE_CHANNEL

    return server.client().publish(QUOTE_CHANNEL.format(symbol), json.dumps({"symbol": symbol, "price": price}))


def _quote_hub(server):
    from apps.feed.quote_hub import QuoteHub

    with override_settings(REDIS_URL=_url(server)):
        return QuoteHub(asyncio.get_running_loop())


def test_a_symbol_watched_while_redis_is_away_is_subscribed_when_it_is_back_for_every_watcher(server):
    from apps.market.quotes import QUOTE_CHANNEL

    async def scenario():
        hub = _quote_hub(server)
        first, later = QuoteClient(), QuoteClient()
        try:
            await _stop(server)
            await hub.watch(first, ["AAA"])  # Redis away: no exception, the watcher is kept
            await _start(server)
            await _until(lambda: _subscribers(server, QUOTE_CHANNEL.format("AAA")) == 1, "subscribed again")
            await hub.watch(later, ["AAA"])
            await _until(lambda: _publish_quote(server, "AAA", 101.0) and first.prices() and later.prices(),
                         "both watchers sent the quote")
            assert first.prices()[-1] == later.prices()[-1] == 101.0
        finally:
            await hub.close()

    asyncio.run(scenario())


def test_watchers_across_a_restart_keep_receiving_and_what_was_left_meanwhile_stays_unsubscribed(server):
    from apps.market.quotes import QUOTE_CHANNEL

    async def scenario():
        hub = _quote_hub(server)
        client = QuoteClient()
        try:
            await hub.watch(client, ["AAA", "BBB"])
            await _until(lambda: _subscribers(server, QUOTE_CHANNEL.format("BBB")) == 1, "subscribed")
            await _stop(server, kill=True)
            await hub.unwatch(client, ["BBB"])  # its UNSUBSCRIBE cannot be sent now
            await _start(server)
            await _until(lambda: _subscribers(server, QUOTE_CHANNEL.format("AAA")) == 1, "AAA subscribed again")
            await _until(lambda: _subscribers(server, QUOTE_CHANNEL.format("BBB")) == 0, "BBB left unsubscribed")
            await _until(lambda: _publish_quote(server, "AAA", 99.5) and 99.5 in client.prices(), "AAA sent")
            assert hub.subscriptions.resyncs >= 1
        finally:
            await hub.close()

    asyncio.run(scenario())


# --------------------------------------------------------------------------- the markets' hub


class MarketViewer:
    def __init__(self):
        self.texts: list[str] = []

    async def send(self, text_data: str) -> None:
        self.texts.append(text_data)


def test_a_market_watched_while_redis_is_away_reaches_its_viewers_once_it_is_back(server):
    from apps.markets.events import market_channel
    from apps.markets.hub import MarketHub

    async def scenario():
        with override_settings(REDIS_URL=_url(server)):
            hub = MarketHub(asyncio.get_running_loop())
        first, later = MarketViewer(), MarketViewer()
        event = json.dumps({"type": "resolved", "data": {"outcome": "yes"}})
        try:
            await _stop(server)
            await hub.watch(first, 7)
            await _start(server)
            await _until(lambda: _subscribers(server, market_channel(7)) == 1, "subscribed again")
            await hub.watch(later, 7)
            await _until(lambda: server.client().publish(market_channel(7), event) and first.texts and later.texts,
                         "both viewers sent the event")
            assert first.texts[-1] == later.texts[-1] == event
        finally:
            await hub.close()

    asyncio.run(scenario())


# --------------------------------------------------------------------------- the race rooms' hub


def _race_hub(server):
    from apps.live.hub import Hub

    with override_settings(REDIS_URL=_url(server)):
        return Hub()


def _sink():
    got: list[dict] = []

    async def send(message):
        got.append(message)

    return send, got


def test_a_room_joined_while_redis_is_away_lets_its_viewers_in_once_it_is_back(server):
    channel = keys.race_channel(41)

    async def scenario():
        hub = _race_hub(server)
        send, got = _sink()
        viewer = hub.new_viewer(send)
        try:
            await _stop(server)
            joining = asyncio.ensure_future(hub.join(channel, viewer, "race"))  # waits for its subscription
            await asyncio.sleep(0.5)
            assert not joining.done()
            await _start(server)
            await asyncio.wait_for(joining, timeout=5)
            await viewer.start(frame_floor=0)
            frame = '{"type":"frame","race":41,"seq":1,"ts":1}'
            await _until(lambda: server.client().publish(channel, frame) and got, "the frame reached the viewer")
            assert got[0].get("text") == frame or got[0].get("bytes") == frame.encode()
        finally:
            await hub.aclose()

    asyncio.run(scenario())


def test_a_room_whose_join_gave_up_is_subscribed_for_the_next_viewer(server):
    """Redis away longer than a join waits: the viewer gives up and leaves; the next one is let in."""
    channel = keys.race_channel(42)

    async def scenario():
        hub = _race_hub(server)
        send, got = _sink()
        gave_up, next_one = hub.new_viewer(send), hub.new_viewer(send)
        try:
            await _stop(server)
            with pytest.raises(TimeoutError):
                await hub.join(channel, gave_up, "race")
            await hub.leave(channel, gave_up, "race")  # what the consumer does (apps/core/ws.py LeavesOnError)
            await _start(server)
            await asyncio.wait_for(hub.join(channel, next_one, "race"), timeout=WAIT)
            assert _subscribers(server, channel) == 1
            assert hub.stats()["race_viewers"] == 1
        finally:
            await hub.aclose()

    asyncio.run(scenario())


# --------------------------------------------------------------------------- through a real server


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_quotes_socket_that_failed_on_the_outage_leaves_and_the_next_one_gets_quotes(server):
    """Before: the consumer raised, Channels ended it without disconnect(), and its dead watcher
    kept the symbol counted as subscribed: nobody on that server got its quotes again."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    from tests.support.factories import StockFactory

    StockFactory(symbol="AAA")
    with processes.daphne(REDIS_URL=server.url) as web:
        url = f"ws://127.0.0.1:{web.port}/ws/quotes/"
        subscribe = json.dumps({"action": "subscribe", "symbols": ["AAA"]})
        with connect(url, open_timeout=10) as warm:  # the process's hub and symbol list are up
            warm.send(subscribe)
            assert json.loads(warm.recv(timeout=10))["type"] == "subscribed"
        server.stop()
        with connect(url, open_timeout=10) as failed:
            failed.send(subscribe)
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    failed.recv(timeout=10)
            assert closed.value.rcvd.code == CLOSE_UNAVAILABLE
        server.start()
        with connect(url, open_timeout=10) as later:
            later.send(subscribe)
            deadline = time.monotonic() + WAIT
            prices = []
            while not prices and time.monotonic() < deadline:
                _publish_quote(server, "AAA", 123.0)
                try:
                    message = json.loads(later.recv(timeout=0.5))
                except TimeoutError:
                    continue
                if message["type"] == "quotes":
                    prices = [q["price"] for q in message["data"]]
            assert prices == [123.0], web.tail()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_race_viewers_keep_getting_frames_through_redis_restarts_and_new_ones_get_in(server):
    """A real daphne and race engine on the private Redis, viewers connected through two restarts:
    each keeps receiving on its own socket, in sequence order, and a viewer arriving after each
    restart gets its snapshot and frames."""
    from websockets.asyncio.client import connect

    from tests.live.factories import LiveRaceFactory

    race = LiveRaceFactory()
    for symbol, price in {"AAA": 101.0, "BBB": 49.0, "CCC": 10.5}.items():
        server.client(db=settings.REDIS_TEST_DB).hset(f"quote:{symbol}", mapping={"price": price, "recv": time.time()})
    with processes.daphne(REDIS_URL=server.url) as web, \
            processes.race_engine(REDIS_URL=server.url, LIVE_ENGINE_POLL_SECONDS=0.2) as engine:
        url = f"ws://127.0.0.1:{web.port}/ws/races/{race.id}/"

        async def frames_of(ws, count: int, within: float) -> list[int]:
            seqs, deadline = [], time.monotonic() + within
            while len(seqs) < count and time.monotonic() < deadline:
                try:
                    text = await asyncio.wait_for(ws.recv(), timeout=0.5)
                except TimeoutError:
                    continue
                if text.startswith('{"type":"frame"'):
                    seqs.append(json.loads(text)["seq"])
            return seqs

        async def scenario():
            viewers = [await connect(url, open_timeout=20) for _ in range(3)]
            try:
                for ws in viewers:
                    assert json.loads(await ws.recv())["type"] == "snapshot"
                    assert await frames_of(ws, 1, within=10), engine.tail()
                for restart in range(2):
                    await _stop(server)
                    await asyncio.sleep(3)
                    await _start(server)
                    for ws in viewers:
                        seqs = await frames_of(ws, 2, within=WAIT)
                        assert len(seqs) == 2 and seqs[0] < seqs[1], (restart, seqs, web.tail(), engine.tail())
                    async with connect(url, open_timeout=20) as late:
                        assert json.loads(await late.recv())["type"] == "snapshot"
                        assert await frames_of(late, 2, within=WAIT), (restart, web.tail())
            finally:
                for ws in viewers:
                    await ws.close()

        asyncio.run(scenario())
