"""One WebSocket viewer in the hub: direct sends while it keeps up, conflation when it does not.

A viewer holds at most one pending frame: while its socket is backed up (the server's buffer
for it is over LIVE_WS_MAX_BUFFER_BYTES) or its snapshot is still being built, a newer frame
replaces the pending one. Room events (started, settled, ...) are never dropped; they queue in
order, and a viewer with more than MAX_PENDING_EVENTS unsent events is disconnected (it will
reconnect and get a fresh snapshot).
"""
from __future__ import annotations

import asyncio
import logging
from collections import deque

from apps.core.backpressure import Send, direct_socket, outbound_probe, prepared_sender, unwrap_send, ws_text_frame

log = logging.getLogger(__name__)

MAX_PENDING_EVENTS = 64
FRAME, PING, EVENT = "frame", "ping", "event"


class Outgoing:
    """A message serialised once per process and shared by every viewer it goes to: as an ASGI
    message, and as one WebSocket frame (bytes), framed once on first use."""

    __slots__ = ("kind", "seq", "message", "_wire")

    def __init__(self, kind: str, seq: int | None, message: dict):
        self.kind = kind
        self.seq = seq  # the frame's sequence number (frames only)
        self.message = message  # {"type": "websocket.send", "text": ...}
        self._wire = None

    @classmethod
    def of(cls, kind: str, text: str, seq: int | None = None) -> Outgoing:
        return cls(kind, seq, {"type": "websocket.send", "text": text})

    def wire(self) -> bytes:
        if self._wire is None:
            self._wire = ws_text_frame(self.message["text"].encode())
        return self._wire


class Viewer:
    __slots__ = ("send", "send_prepared", "direct", "probe", "limit", "ready", "closed", "pending", "frame_floor", "conflated", "on_backlog")

    def __init__(self, send: Send, *, limit: int, on_backlog=None):
        raw = unwrap_send(send)
        self.send = raw
        self.send_prepared = prepared_sender(raw)
        self.direct = direct_socket(raw)  # daphne over TCP: raw send() while Twisted holds nothing
        self.probe = outbound_probe(raw)
        self.limit = limit
        self.ready = False  # False until its snapshot has been sent
        self.closed = False
        self.pending: deque[Outgoing] = deque()
        self.frame_floor = 0  # frames up to this seq are already in the snapshot
        self.conflated = 0
        self.on_backlog = on_backlog  # called once the viewer has something pending

    def takes_direct(self) -> bool:
        """True when the next message may go straight to the socket (hub.py's fast path): it is
        live, nothing of its own waits, and the server holds no bytes for it."""
        return self.ready and not self.pending and not self.closed and self.direct is not None and self.direct.idle()

    def sent_directly(self, out: Outgoing, sent: int) -> None:
        """``sent`` bytes of ``out``'s frame reached the kernel (or -1: a socket error): the rest goes
        through the server's buffer, behind which anything later queues."""
        if out.seq is not None:
            self.frame_floor = out.seq
        wire = out.wire()
        if sent < len(wire):
            # On an error the write lets Twisted find the broken connection and close it.
            self.direct.write_rest(wire[sent:] if sent > 0 else wire)

    def backed_up(self) -> bool:
        return self.probe is not None and self.probe() > self.limit

    async def offer(self, out: Outgoing) -> None:
        if self.closed or (out.seq is not None and out.seq <= self.frame_floor):
            return
        if self.pending or not self.ready or self.backed_up():
            self._queue(out)
            return
        await self._send(out)

    def _queue(self, out: Outgoing) -> None:
        pending = self.pending
        if out.kind == PING:
            if pending:
                return  # anything queued proves the room is alive
        elif out.kind == FRAME and pending and pending[-1].kind in (FRAME, PING):
            pending[-1] = out  # conflation: only the latest frame waits
            self.conflated += 1
            return
        elif out.kind == EVENT and len(pending) >= MAX_PENDING_EVENTS:
            log.warning("viewer too slow: %d events pending; disconnecting it", len(pending))
            self.closed = True
            pending.clear()
            asyncio.get_running_loop().create_task(self._close(4408))
            return
        was_empty = not pending
        pending.append(out)
        if was_empty and self.on_backlog is not None:
            self.on_backlog(self)

    async def start(self, frame_floor: int) -> None:
        """The snapshot (holding frames up to ``frame_floor``) is out: live frames may follow."""
        self.frame_floor = frame_floor
        self.ready = True
        await self.flush()

    async def flush(self) -> bool:
        """Send what is pending while the socket takes it; True when nothing is left."""
        while self.pending and self.ready and not self.closed:
            if self.backed_up():
                return False
            out = self.pending.popleft()
            if out.seq is not None and out.seq <= self.frame_floor:
                continue
            await self._send(out)
        return not self.pending or self.closed

    async def _close(self, code: int) -> None:
        try:
            await self.send({"type": "websocket.close", "code": code})
        except Exception:  # noqa: BLE001 - already gone
            pass

    async def _send(self, out: Outgoing) -> None:
        if out.seq is not None:
            self.frame_floor = out.seq
        try:
            if self.send_prepared is not None:
                if not self.send_prepared(out.wire()):
                    self.closed = True
            else:
                await self.send(out.message)
        except Exception:  # noqa: BLE001 - a socket that went away; its consumer cleans up
            self.closed = True
