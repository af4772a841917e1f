"""The HTTP fallback of the live channels (apps/live/fallback.py) on a real daphne: the same
frames as the WebSocket, byte for byte, with the frame's seq as the event id; a client that
comes back with Last-Event-ID resumes after the last frame it saw; /ws/me/ events the same way
with the player's own seq; quotes as the socket sends them."""
from __future__ import annotations

import json
import threading
import time

import pytest
import requests
from rest_framework_simplejwt.tokens import AccessToken
from websockets.sync.client import connect

from apps.accounts.services import user_register
from apps.core import live_keys as keys
from apps.core.events import user_event_publish
from apps.core.redis import get_redis
from tests.live.conftest import transactional
from tests.live.factories import LiveRaceFactory
from tests.support import processes

pytestmark = [transactional, pytest.mark.slow]


def _events(response, count: int, timeout: float = 15) -> list[tuple[int | None, str]]:
    """(id, data) of the next ``count`` SSE events of a streaming response."""
    out, event_id, deadline = [], None, time.monotonic() + timeout
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("id: "):
            event_id = int(line[4:])
        elif line.startswith("data: "):
            out.append((event_id, line[6:]))
            event_id = None
            if len(out) == count:
                break
        if time.monotonic() > deadline:
            break
    return out


def _publish_soon(channel: str, texts: list[str], delay: float = 1.0) -> threading.Thread:
    def run():
        time.sleep(delay)
        for text in texts:
            get_redis().publish(channel, text)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_race_frames_over_sse_are_the_websocket_bytes_and_resume_after_last_event_id():
    race = LiveRaceFactory()
    frames = ['{"type":"frame","race":%d,"seq":%d,"stocks":[]}' % (race.id, seq) for seq in (1, 2, 3)]
    with processes.daphne(LIVE_SSE_SECONDS="6") as server:
        ws = connect(f"{server.url.replace('http://', 'ws://')}/ws/races/{race.id}/", open_timeout=20)
        ws.recv(timeout=10)
        with requests.get(f"{server.url}/live/races/{race.id}/events", stream=True, timeout=30) as sse:
            assert sse.headers["content-type"].startswith("text/event-stream")
            publisher = _publish_soon(keys.race_channel(race.id), frames)
            got = _events(sse, 4)
            publisher.join()
        by_ws = [ws.recv(timeout=10) for _ in frames]
        ws.close()
        snapshot_id, snapshot = got[0]
        assert json.loads(snapshot)["type"] == "snapshot" and snapshot_id == 0
        assert [text for _, text in got[1:]] == frames == by_ws  # byte for byte
        assert [i for i, _ in got[1:]] == [1, 2, 3]

        # Frame 4 is published while the client is away; it comes back having seen 3.
        get_redis().set(keys.RACE_LAST_FRAME.format(race.id), frames[2].replace('"seq":3', '"seq":4'))
        with requests.get(f"{server.url}/live/races/{race.id}/events", headers={"Last-Event-ID": "3"},
                          stream=True, timeout=30) as sse:
            publisher = _publish_soon(keys.race_channel(race.id), [frames[0].replace('"seq":1', '"seq":5')])
            resumed = _events(sse, 2)
            publisher.join()
        assert [i for i, _ in resumed] == [4, 5], resumed  # no snapshot, nothing before 4, nothing lost
        missing = requests.get(f"{server.url}/live/races/999999999/events", timeout=30)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_personal_events_over_sse_are_the_websocket_bytes_numbered_and_resume_after_last_event_id():
    player = user_register(username="fallback", password="correct-horse-battery")
    token = str(AccessToken.for_user(player))
    bearer = {"Authorization": f"Bearer {token}"}
    with processes.daphne(LIVE_SSE_SECONDS="6") as server:
        assert requests.get(f"{server.url}/live/me/events", timeout=30).status_code == 401
        ws = connect(f"{server.url.replace('http://', 'ws://')}/ws/me/", additional_headers=bearer, open_timeout=20)
        ws.recv(timeout=10)  # hello
        with requests.get(f"{server.url}/live/me/events", headers=bearer, stream=True, timeout=30) as sse:
            def publish():
                time.sleep(1.0)
                for amount in (3, 4):
                    user_event_publish(user_id=player.id, payload={"type": "payout", "amount": amount})

            thread = threading.Thread(target=publish)
            thread.start()
            got = _events(sse, 3)
            thread.join()
        by_ws = [ws.recv(timeout=10) for _ in range(2)]
        ws.close()
        assert json.loads(got[0][1]) == {"type": "hello", "user": player.id}
        assert [text for _, text in got[1:]] == by_ws  # byte for byte
        events = [json.loads(text) for text in by_ws]
        assert [e["amount"] for e in events] == [3, 4] and {e["user"] for e in events} == {player.id}
        first = events[0]["seq"]
        assert [i for i, _ in got[1:]] == [e["seq"] for e in events] == [first, first + 1]

        # Two events while the client is away; it comes back having seen the second.
        away = [user_event_publish(user_id=player.id, payload={"type": "payout", "amount": n}) for n in (5, 6)]
        with requests.get(f"{server.url}/live/me/events", headers={**bearer, "Last-Event-ID": str(first + 1)},
                          stream=True, timeout=30) as sse:
            thread = threading.Thread(target=lambda: (time.sleep(1.0), user_event_publish(
                user_id=player.id, payload={"type": "payout", "amount": 7})))
            thread.start()
            resumed = _events(sse, 4)
            thread.join()
        assert json.loads(resumed[0][1])["type"] == "hello"
        assert [text for _, text in resumed[1:3]] == away  # the kept events, as published
        assert [i for i, _ in resumed[1:]] == [first + 2, first + 3, first + 4], resumed  # then the live one, once


def test_quotes_over_sse_are_what_the_socket_sends_after_a_subscribe():
    from apps.market.services import stock_upsert_demo_universe
    from tests.support.factories import write_quotes

    stock_upsert_demo_universe()
    write_quotes({"AAPL": 190.0}, spread=0.01, volume=1000)
    with processes.daphne(LIVE_SSE_SECONDS="6") as server:
        ws = connect(f"{server.url.replace('http://', 'ws://')}/ws/quotes/", open_timeout=20)
        ws.send(json.dumps({"action": "subscribe", "symbols": ["AAPL", "ZZZZ"]}))
        by_ws = [json.loads(ws.recv(timeout=10)) for _ in range(2)]
        ws.close()
        with requests.get(f"{server.url}/live/quotes/events?symbols=AAPL,ZZZZ", stream=True, timeout=30) as sse:
            got = [json.loads(text) for _, text in _events(sse, 2)]
        assert got[0] == {"type": "subscribed", "symbols": ["AAPL"], "unknown": ["ZZZZ"]}
        assert got == by_ws
        assert got[1]["type"] == "snapshot" and got[1]["data"][0]["symbol"] == "AAPL"
        bad = requests.get(f"{server.url}/live/quotes/events?symbols=not%20a%20symbol", timeout=30)
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_symbols"
