"""The live channels over plain HTTP, for clients whose WebSocket cannot connect or keeps dropping.

Server-Sent Events, held open up to LIVE_SSE_SECONDS, then ended so that proxies and the
browser's EventSource reconnect (with ``Last-Event-ID``):

- ``GET /live/races/{id}/events`` — the race room: the snapshot (on a first connection), then
  every frame and room event as the WebSocket sends them, byte for byte (each ``data:`` line is
  the very text the hub received from Redis). A frame's SSE ``id`` is its ``seq``; a client that
  comes back with ``Last-Event-ID: N`` (or ``?after=N``) gets no snapshot but the race's last
  frame if it is newer than N, then the live ones: the gap of a reconnect loses nothing.
- ``GET /live/me/events`` — the player's /ws/me/ events (session cookie or bearer token), after a
  ``hello``. Each event's ``seq`` (the player's own numbering, apps.core.events) is its SSE ``id``;
  with ``Last-Event-ID: N`` (or ``?after=N``) the player's kept events after N (the last 50, of
  the last 5 minutes) come first, then the live ones, none twice.
- ``GET /live/quotes/events?symbols=AAPL,MSFT`` — what /ws/quotes/ sends after a subscribe.

Each stream is a viewer of the same per-process hub as the WebSockets (one Redis subscription
per process, conflation for a reader that falls behind), so it costs what a socket costs.
"""
from __future__ import annotations

import asyncio
import re
from urllib.parse import parse_qs

import orjson
from django.conf import settings

from apps.core import live_keys as keys
from apps.core.backpressure import outbound_probe, unwrap_send
from apps.core.inputs import whole_number
from apps.live.auth import scope_user_id
from apps.live.hub import get_hub
from apps.live.snapshots import cached_room_state, race_snapshot

RACE_PATH = re.compile(r"^/live/races/([0-9]{1,18})/events$")
PATHS = ("/live/me/events", "/live/quotes/events")


class _Stream:
    """One SSE response: ``write(text, id)`` sends an event; WebSocket messages map onto it."""

    def __init__(self, send, seq_of=None):
        self._http_send = send  # not "real_send": unwrap_send would take it for a server send
        self.closed = asyncio.Event()
        self.probe = outbound_probe(unwrap_send(send))
        self.seq_of = seq_of or _seq_of  # a message's SSE id: a frame's seq, or a personal event's
        self.replayed = 0  # personal events up to this seq were sent from the kept ones

    async def start(self) -> None:
        await self._http_send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-store"),
            (b"x-accel-buffering", b"no")]})
        await self._http_send({"type": "http.response.body", "body": b"retry: 500\n\n", "more_body": True})

    async def write(self, text: str, event_id: int | None = None) -> None:
        head = b"id: %d\n" % event_id if event_id is not None else b""
        await self._http_send({"type": "http.response.body", "more_body": True,
                              "body": head + b"data: " + text.encode() + b"\n\n"})

    async def as_websocket(self, message: dict) -> None:
        """The ``send`` of a hub viewer: a frame, an event or a ping, or a close."""
        if message["type"] == "websocket.close":
            self.closed.set()
            return
        text = message["text"]
        if text.startswith('{"type":"ping"'):
            await self._http_send({"type": "http.response.body", "body": b": ping\n\n", "more_body": True})
            return
        seq = self.seq_of(text)
        if seq is not None and seq <= self.replayed:
            return  # sent already from the kept events (published while the stream subscribed)
        await self.write(text, seq)

    def backed_up(self) -> bool:
        return self.probe is not None and self.probe() > settings.LIVE_WS_MAX_BUFFER_BYTES

    async def send_quotes(self, payloads: list[str]) -> None:  # the quote hub's client interface
        await self.write('{"type":"quotes","data":[' + ",".join(payloads) + "]}")

    async def end(self) -> None:
        await self._http_send({"type": "http.response.body", "body": b"", "more_body": False})


def _seq_of(text: str) -> int | None:
    if text.startswith('{"type":"frame"'):
        match = re.search(r'"seq":([0-9]+)', text)
        return int(match.group(1)) if match else None
    return None


_USER_SEQ = re.compile(r',"seq":([0-9]+)\}$')  # a personal event ends with its seq (apps.core.events)


def _user_seq_of(text: str) -> int | None:
    match = _USER_SEQ.search(text)
    return int(match.group(1)) if match else None


async def _until_done(stream: _Stream, receive) -> None:
    """Wait for the stream's time to be up, the client to leave, or the hub to close it."""
    async def client_gone():
        while (await receive())["type"] != "http.disconnect":
            pass

    waiters = [asyncio.ensure_future(client_gone()), asyncio.ensure_future(stream.closed.wait())]
    await asyncio.wait(waiters, timeout=settings.LIVE_SSE_SECONDS, return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        waiter.cancel()


def _last_event_id(scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"last-event-id":
            return whole_number(value.decode("latin-1").strip())
    after = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("after", [""])[-1]
    return whole_number(after) if after else None


async def _error(send, status: int, code: str, message: str) -> None:
    body = orjson.dumps({"error": {"code": code, "message": message, "fields": {}}})
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


async def _race_room(scope, receive, send, race_id: int) -> None:
    hub = get_hub()
    await hub.ensure_started()
    if await cached_room_state(hub, race_id) is None:
        return await _error(send, 404, "not_found", f"No race {race_id}.")
    stream = _Stream(send)
    await stream.start()
    viewer = hub.new_viewer(stream.as_websocket)
    viewer.direct, viewer.send_prepared, viewer.probe = None, None, stream.probe  # the ordered path only
    channel = keys.race_channel(race_id)
    try:  # leave() also when the join fails (Redis away): the room must not keep a dead viewer
        await hub.join(channel, viewer, "race")  # subscribed first: nothing published from now on is missed
        after = _last_event_id(scope)
        if after is None:
            text, seq = await race_snapshot(hub, await cached_room_state(hub, race_id))
            await stream.write(text, seq)
        else:
            last = await hub.redis.get(keys.RACE_LAST_FRAME.format(race_id))
            seq = after
            if last is not None and (last_seq := _seq_of(last.decode())) is not None and last_seq > after:
                await stream.write(last.decode(), last_seq)  # published while the client reconnected
                seq = last_seq
        await viewer.start(frame_floor=seq)
        await _until_done(stream, receive)
    finally:
        await hub.leave(channel, viewer, "race")
    await stream.end()


async def _me(scope, receive, send) -> None:
    user_id = await scope_user_id(scope)
    if user_id is None:
        return await _error(send, 401, "not_authenticated", "Sign in, or send a bearer token.")
    hub = get_hub()
    stream = _Stream(send, seq_of=_user_seq_of)
    await stream.start()
    viewer = hub.new_viewer(stream.as_websocket)
    viewer.direct, viewer.send_prepared, viewer.probe = None, None, stream.probe
    channel = keys.user_channel(user_id)
    try:
        await hub.join(channel, viewer, "me")  # subscribed first: nothing published from now on is missed
        await stream.write(orjson.dumps({"type": "hello", "user": user_id}).decode())
        if (after := _last_event_id(scope)) is not None:
            for raw in await hub.redis.lrange(keys.USER_RECENT.format(user_id), 0, -1):
                text = raw.decode()
                if (seq := _user_seq_of(text)) is not None and seq > max(after, stream.replayed):
                    await stream.write(text, seq)
                    stream.replayed = seq
        await viewer.start(frame_floor=0)
        await _until_done(stream, receive)
    finally:
        await hub.leave(channel, viewer, "me")
    await stream.end()


async def _quotes(scope, receive, send) -> None:
    from apps.feed.consumers import SYMBOL_RE, MAX_SYMBOLS_PER_CLIENT, known_symbols, snapshot_quotes
    from apps.feed.quote_hub import get_hub as get_quote_hub

    raw = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("symbols", [""])[-1]
    symbols = list(dict.fromkeys(s.strip().upper() for s in raw.split(",") if s.strip()))
    if not symbols or len(symbols) > MAX_SYMBOLS_PER_CLIENT or not all(SYMBOL_RE.match(s) for s in symbols):
        return await _error(send, 400, "bad_symbols", f"symbols: 1 to {MAX_SYMBOLS_PER_CLIENT} ticker symbols.")
    listed = await known_symbols()
    wanted = [s for s in symbols if s in listed]
    quote_hub = get_quote_hub()
    stream = _Stream(send)
    await stream.start()
    try:
        await quote_hub.watch(stream, wanted)
        await stream.write(orjson.dumps({"type": "subscribed", "symbols": sorted(wanted),
                                         "unknown": [s for s in symbols if s not in listed]}).decode())
        if wanted:
            await stream.write(orjson.dumps({"type": "snapshot",
                                             "data": await snapshot_quotes(quote_hub, wanted)}).decode())
        await _until_done(stream, receive)
    finally:
        quote_hub.forget(stream)
        await quote_hub.unwatch(stream, wanted)
    await stream.end()


class LiveFallback:
    """ASGI: the /live/... streams here (GET only), everything else to ``app``."""

    def __init__(self, app):
        from channels.auth import AuthMiddlewareStack

        self.app = app
        # The session cookie counts here as on a browser's same-origin WebSocket (a foreign page
        # cannot read this response: no CORS headers).
        self.me = AuthMiddlewareStack(lambda scope, receive, send: _me({**scope, "ws_client": "browser"},
                                                                       receive, send))

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/live/"):
            return await self.app(scope, receive, send)
        if scope["method"] != "GET":
            return await _error(send, 405, "method_not_allowed", "Use GET.")
        if match := RACE_PATH.match(path):
            return await _race_room(scope, receive, send, int(match[1]))
        if path == PATHS[0]:
            return await self.me(scope, receive, send)
        if path == PATHS[1]:
            return await _quotes(scope, receive, send)
        return await _error(send, 404, "not_found", f"Nothing at {path}.")
