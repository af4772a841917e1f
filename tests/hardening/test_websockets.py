"""WebSockets on a real daphne: a 10 MB message refused from its header, native clients with no
Origin (a race room for anyone, /ws/me/ with a bearer token), a foreign browser Origin refused,
a client that stops reading /ws/quotes/ costing bounded memory, and the direct write path
engaging (and switched off by LIVE_WS_DIRECT_WRITES)."""
from __future__ import annotations

import base64
import json
import os
import socket
import time

import psutil
import pytest
from rest_framework_simplejwt.tokens import AccessToken
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from apps.accounts.services import user_register
from apps.core import live_keys as keys
from apps.core.events import user_event_publish
from apps.core.redis import get_redis
from apps.live.selectors import ws_process_counts
from apps.market.quotes import QUOTE_CHANNEL
from tests.live.conftest import transactional
from tests.live.factories import LiveRaceFactory
from tests.support import factories as f
from tests.support import processes

pytestmark = [transactional, pytest.mark.slow]


def _frame(race_id: int, seq: int, pad: str = "") -> str:
    return '{"type":"frame","race":%d,"seq":%d,"pad":"%s"}' % (race_id, seq, pad)


def _raw_handshake(port: int, path: str, *, origin: str | None = None, sndbuf: int | None = None) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    if sndbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  + (f"Origin: {origin}\r\n" if origin else "") + "\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


# 10 MB: the case; 200 KB: under daphne's own 1 MiB default, over LIVE_WS_MAX_MESSAGE_BYTES.
@pytest.mark.parametrize("size", [10 * 1024 * 1024, 200 * 1024])
def test_a_large_message_is_refused_from_its_header_and_the_connection_closed(size):
    race = LiveRaceFactory()
    with processes.daphne() as server:
        sock = _raw_handshake(server.port, f"/ws/races/{race.id}/", sndbuf=16384)
        header = bytes((0x81, 0xFF)) + size.to_bytes(8, "big") + os.urandom(4)  # masked text frame, 64-bit length
        sock.sendall(header)
        sent, chunk = 0, b"\x00" * 65536
        sock.settimeout(10)
        try:
            while sent < size:
                sent += sock.send(chunk)
        except OSError:
            pass  # the server dropped the connection: what it did not read, we could not send
        ended = False
        try:
            while sock.recv(65536):
                pass
            ended = True  # end of stream: the server closed it
        except (ConnectionResetError, BrokenPipeError):
            ended = True  # or dropped it
        except socket.timeout:
            pass
        sock.close()
        alive = server.alive()
    assert ended, "the connection stayed open"
    assert sent < size * 0.9, f"the server took {sent} of {size} bytes before refusing"
    assert alive


def test_native_clients_without_origin_watch_a_race_and_get_their_own_events_by_bearer_token():
    race = LiveRaceFactory()
    player = user_register(username="mobile", password="correct-horse-battery")
    token = str(AccessToken.for_user(player))
    with processes.daphne() as server:
        ws_url = server.url.replace("http://", "ws://")
        with connect(f"{ws_url}/ws/races/{race.id}/", open_timeout=20) as room:  # websockets sends no Origin
            snapshot = json.loads(room.recv(timeout=10))
            assert snapshot["type"] == "snapshot" and snapshot["race"] == race.id
            frame = _frame(race.id, 1)
            deadline = time.monotonic() + 10
            got = None
            while got is None and time.monotonic() < deadline:
                get_redis().publish(keys.race_channel(race.id), frame)
                try:
                    got = room.recv(timeout=0.5)
                except TimeoutError:
                    continue
            assert got == frame
        with connect(f"{ws_url}/ws/me/", additional_headers={"Authorization": f"Bearer {token}"},
                     open_timeout=20) as me:
            assert json.loads(me.recv(timeout=10)) == {"type": "hello", "user": player.id}
            user_event_publish(user_id=player.id, payload={"type": "payout", "amount": 7})
            event = json.loads(me.recv(timeout=10))
            assert event["type"] == "payout" and event["amount"] == 7 and event["user"] == player.id
        with connect(f"{ws_url}/ws/me/", open_timeout=20) as anonymous:  # no token: nothing but a 4401
            anonymous.send('{"type":"ping"}')
            with pytest.raises(Exception):
                anonymous.recv(timeout=10)
            assert anonymous.close_code == 4401
        for path in (f"/ws/races/{race.id}/", "/ws/me/", "/ws/quotes/"):
            with pytest.raises(InvalidStatus) as refused:
                connect(f"{ws_url}{path}", origin="https://evil.example", open_timeout=20)
            assert refused.value.response.status_code == 403, path


def test_a_client_sending_too_fast_is_closed_with_4429():
    race = LiveRaceFactory()
    with processes.daphne(LIVE_WS_CLIENT_RATE="1", LIVE_WS_CLIENT_BURST="5") as server:
        with connect(f"{server.url.replace('http://', 'ws://')}/ws/races/{race.id}/", open_timeout=20) as ws:
            ws.recv(timeout=10)  # the snapshot
            for _ in range(20):
                ws.send('{"type":"ping"}')
            with pytest.raises(Exception):
                while True:
                    ws.recv(timeout=10)
            assert ws.close_code == 4429


def test_a_client_that_stops_reading_quotes_does_not_grow_the_server():
    symbols = [f"Q{i:03d}" for i in range(50)]
    for symbol in symbols:
        f.StockFactory(symbol=symbol)
    pad = "p" * 20_000
    with processes.daphne() as server:
        sock = _raw_handshake(server.port, "/ws/quotes/")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        message = json.dumps({"action": "subscribe", "symbols": symbols}).encode()
        mask = os.urandom(4)
        sock.sendall(bytes((0x81, 0x80 | 126)) + len(message).to_bytes(2, "big") + mask
                     + bytes(b ^ mask[i % 4] for i, b in enumerate(message)))
        time.sleep(1.0)  # subscribed; from now on the client reads nothing
        rss_before = psutil.Process(server.pid).memory_info().rss
        client = get_redis()
        started, published = time.monotonic(), 0
        while time.monotonic() - started < 8:  # ~1 MB of quotes per 100 ms round: ~80 MB offered
            for symbol in symbols:
                client.publish(QUOTE_CHANNEL.format(symbol), '{"symbol":"%s","pad":"%s","n":%d}' % (symbol, pad, published))
            published += 1
            time.sleep(0.05)
        time.sleep(1.0)
        rss_growth = psutil.Process(server.pid).memory_info().rss - rss_before
        sock.close()
    offered = published * len(symbols) * len(pad)
    assert offered > 40e6
    assert rss_growth < 20e6, f"server grew {rss_growth / 1e6:.1f} MB with {offered / 1e6:.0f} MB offered"


@pytest.mark.parametrize("direct", [True, False])
def test_the_direct_write_path_engages_on_daphne_and_its_switch_turns_it_off(direct):
    race = LiveRaceFactory()
    with processes.daphne(LIVE_WS_DIRECT_WRITES="true" if direct else "false") as server:
        with connect(f"{server.url.replace('http://', 'ws://')}/ws/races/{race.id}/", open_timeout=20) as ws:
            ws.recv(timeout=10)
            client = get_redis()
            for seq in range(1, 31):
                client.publish(keys.race_channel(race.id), _frame(race.id, seq))
                assert json.loads(ws.recv(timeout=10))["seq"] == seq  # every frame, in order, either way
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                counts = ws_process_counts(client)
                if counts and int(counts[0].get("total", 0)) == 1 and time.monotonic() > deadline - 14:
                    break
                time.sleep(0.5)
    (report,) = counts
    if direct:
        assert int(report["direct_sends"]) >= 25, report
    else:
        assert int(report["direct_sends"]) == 0, report
