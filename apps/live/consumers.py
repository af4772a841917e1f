"""WebSocket consumers: the race room (/ws/races/{id}/) and the personal channel (/ws/me/).

Neither uses the channel layer: the process's hub (hub.py) holds one Redis subscription per
watched race or user and writes frames straight to the sockets. Message shapes are documented
in docs/ARCHITECTURE-live.md.
"""
from __future__ import annotations

import asyncio

import orjson
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from apps.core import live_keys as keys
from apps.core.ws import CLOSE_TOO_FAST, LeavesOnError, MessageRate
from apps.live.auth import scope_user_id, token_user_id
from apps.live.hub import get_hub
from apps.live.snapshots import cached_room_state, race_snapshot

# Close codes (4000-4999 are the application's).
CLOSE_UNKNOWN_RACE = 4404
CLOSE_UNAUTHENTICATED = 4401
CLOSE_TOO_SLOW = 4408  # sent by viewer.py when room events pile up unsent


class _HubConsumer(LeavesOnError, AsyncWebsocketConsumer):
    # No channel layer per socket: an alias that is not configured makes Channels skip it.
    channel_layer_alias = "live-hub-instead"
    kind = ""

    viewer = None
    channel = None
    rate = None

    async def _join(self, channel: str):
        self.hub = get_hub()
        self.viewer = self.hub.new_viewer(self.base_send)
        self.channel = channel
        await self.hub.join(channel, self.viewer, self.kind)

    async def disconnect(self, code):
        if self.viewer is not None:
            await self.hub.leave(self.channel, self.viewer, self.kind)

    async def receive(self, text_data=None, bytes_data=None):
        # Clients may ping; anything else is ignored (the rooms are read-only). The server caps a
        # message's size (stockrace/servers.py); a client talking too fast is closed with 4429.
        if self.rate is None:
            self.rate = MessageRate()
        if not self.rate.allow():
            await self.close(code=CLOSE_TOO_FAST)
            return
        try:
            message = orjson.loads(text_data or bytes_data or b"null")
        except orjson.JSONDecodeError:
            return
        if isinstance(message, dict):
            await self.on_message(message)

    async def on_message(self, message: dict) -> None:
        if message.get("type") == "ping":
            await self.send(text_data='{"type":"pong"}')


class RaceRoomConsumer(_HubConsumer):
    """Anyone may watch: a snapshot at once, then frames and room events as they are published."""

    kind = "race"

    async def connect(self):
        race_id = int(self.scope["url_route"]["kwargs"]["race_id"])
        hub = get_hub()
        await hub.ensure_started()
        await self.accept()
        if await cached_room_state(hub, race_id) is None:
            await self.close(code=CLOSE_UNKNOWN_RACE)
            return
        # Subscribe first, then read the snapshot: frames published in between are queued
        # (conflated) and those already in the snapshot are skipped, so there is no gap.
        await self._join(keys.race_channel(race_id))
        state = await cached_room_state(hub, race_id)
        text, seq = await race_snapshot(hub, state)
        await self.send(text_data=text)
        await self.viewer.start(frame_floor=seq)


class MeConsumer(_HubConsumer):
    """The signed-in player's own events. Who it is comes from the handshake (apps/live/auth.py)
    or from a first message ``{"type": "auth", "token": ...}`` sent within
    LIVE_WS_AUTH_SECONDS; otherwise the socket is closed with 4401."""

    kind = "me"
    user_id = None
    _auth_timer = None

    async def connect(self):
        user_id = await scope_user_id(self.scope)
        await self.accept()
        if user_id is not None:
            await self._start(user_id)
        else:
            self._auth_timer = asyncio.get_running_loop().call_later(
                settings.LIVE_WS_AUTH_SECONDS, lambda: asyncio.ensure_future(self._auth_timeout()))

    async def _auth_timeout(self):
        if self.user_id is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)

    async def _start(self, user_id: int) -> None:
        self.user_id = user_id
        await self._join(keys.user_channel(user_id))
        await self.send(text_data=orjson.dumps({"type": "hello", "user": user_id}).decode())
        await self.viewer.start(frame_floor=0)

    async def on_message(self, message: dict) -> None:
        if self.user_id is not None:
            return await super().on_message(message)
        if message.get("type") != "auth":
            return await self.close(code=CLOSE_UNAUTHENTICATED)
        if self._auth_timer is not None:
            self._auth_timer.cancel()
        user_id = await token_user_id(message.get("token"))
        if user_id is None:
            return await self.close(code=CLOSE_UNAUTHENTICATED)
        await self._start(user_id)

    async def disconnect(self, code):
        if self._auth_timer is not None:
            self._auth_timer.cancel()
        await super().disconnect(code)
