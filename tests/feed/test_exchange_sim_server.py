"""The simulator's server: Alpaca's REST paths read by our own Alpaca adapter over real HTTP,
and the stream's handshake, on a free port."""
from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request

import pytest
import websocket

from apps.feed.exchange_sim.history import GbmEngine
from apps.feed.exchange_sim.model import GbmModel
from apps.feed.exchange_sim.server import run_server
from apps.feed.exchange_sim.universe import load_listings
from apps.providers import AlpacaProvider


@pytest.fixture
def simulator(port):
    listings = load_listings(4, 3, synthetic_only=True)
    start = time.time() - 600  # ten minutes of history already "traded"
    engine = GbmEngine(GbmModel(listings, seed=3, ticks_per_second=2), state_dir=None, now=start)
    stop, ready = threading.Event(), threading.Event()
    thread = threading.Thread(target=lambda: asyncio.run(run_server(
        engine, listings, host="127.0.0.1", port=port, mode="gbm", should_stop=stop.is_set, ready=ready.set)))
    thread.start()
    assert ready.wait(10)
    yield engine, listings, port
    stop.set()
    thread.join(10)


def test_rest_assets_trades_and_bars_through_the_alpaca_adapter(simulator):
    engine, listings, port = simulator
    provider = AlpacaProvider(key="k", secret="s", rest_url=f"http://127.0.0.1:{port}")
    symbols = provider.fetch_symbols()
    assert [s.symbol for s in symbols] == [x.symbol for x in listings]
    assert symbols[0].sector == listings[0].sector  # the simulator's extension field

    now = time.time()
    start, end = now - 300, now - 100
    trades = provider.fetch_trades(["SIM001", "SIM002"], start, end)
    expected = engine.history({0, 1}, start, end)
    assert len(trades) == len(expected) > 700  # 2 symbols, 2 trades a second, 200 seconds
    assert [round(t.ts, 5) for t in trades] == sorted(round(e[0], 5) for e in expected)

    bars = provider.fetch_bars("SIM003", now - 540, now - 60, "1m")
    assert 7 <= len(bars) <= 9 and all(b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high for b in bars)
    assert all(b.start % 60 == 0 for b in bars)
    five = provider.fetch_bars("SIM003", now - 540, now - 60, "5m")
    assert sum(b.volume for b in five) >= sum(b.volume for b in bars if b.start >= five[0].start)


def test_rest_paginates_and_refuses_bad_requests(simulator):
    _engine, _listings, port = simulator
    base = f"http://127.0.0.1:{port}"

    def get(path):
        with urllib.request.urlopen(base + path, timeout=5) as response:
            return json.loads(response.read())

    # The last hour: the simulator serves at most 6 hours per request (the start of the UTC day
    # is too far back after 06:00 UTC).
    page = get("/v2/stocks/SIM001/trades?limit=5&start=" + time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                         time.gmtime(time.time() - 3600)))
    assert len(page["trades"]) == 5 and page["next_page_token"] and page["symbol"] == "SIM001"
    for path, status in [("/v2/stocks/trades", 422), ("/v2/stocks/bars?symbols=SIM001&timeframe=7Min", 422),
                         ("/v2/stocks/bars?symbols=SIM001&start=yesterday", 422), ("/v2/assets/NOPE", 404),
                         ("/nowhere", 404)]:
        with pytest.raises(urllib.error.HTTPError) as err:
            get(path)
        assert err.value.code == status
        err.value.close()


def test_stream_handshake_auth_and_subscription(simulator):
    _engine, _listings, port = simulator
    ws = websocket.create_connection(f"ws://127.0.0.1:{port}/v2/sim", timeout=5)
    try:
        assert json.loads(ws.recv()) == [{"T": "success", "msg": "connected"}]
        ws.send('{"action": "subscribe", "trades": ["SIM001"]}')
        assert json.loads(ws.recv())[0] == {"T": "error", "code": 401, "msg": "not authenticated"}
        ws.send("garbage")
        assert json.loads(ws.recv())[0]["code"] == 400
        ws.send('{"action": "auth", "key": "k", "secret": "s"}')
        assert json.loads(ws.recv()) == [{"T": "success", "msg": "authenticated"}]
        ws.send('{"action": "subscribe", "trades": ["SIM001"], "quotes": []}')
        assert json.loads(ws.recv())[0]["trades"] == ["SIM001"]
        messages = json.loads(ws.recv())
        assert {m["T"] for m in messages} == {"t"} and {m["S"] for m in messages} == {"SIM001"}
    finally:
        ws.close()
