"""How many bytes the ASGI server still holds for one WebSocket, when the server lets us see it.

In core because both hubs use it: the race rooms (apps/live/viewer.py) and the quotes
(apps/feed/quote_hub.py).

ASGI has no back-pressure signal for ``websocket.send``: daphne (Twisted) appends every
message to the connection's user-space write buffer, which grows without bound when the
client stops reading. To conflate frames for such a viewer we need that buffer's size, so
this module finds the server's transport behind the ``send`` callable:

- daphne passes ``functools.partial(server.handle_reply, protocol)``; the protocol's Twisted
  transport keeps ``dataBuffer``/``offset``/``_tempDataLen`` (twisted.internet.abstract);
- uvicorn passes a bound method of its protocol, whose asyncio transport has
  ``get_write_buffer_size()``.

Anything else (Channels' test communicator) gets no probe: frames are sent as they come.

It also offers a broadcast fast path for both servers: a frame's WebSocket framing is built
once per process (server frames are unmasked, so every viewer gets the same bytes, like
autobahn's ``PreparedMessage``) and written straight to each open socket's transport. Under
daphne that is what autobahn's ``sendData`` does for an open, uncompressed socket, minus its
debug log line, whose arguments (``hltype``/``hlval``, colourised with click) it formats on every
call even with debug logging off: profiling showed that was most of the broadcast's CPU.

Under daphne there is a faster path still (``direct_socket``): when Twisted holds nothing for a
socket, the frame is written with one non-blocking ``send()`` on the socket itself. Twisted's own
``transport.write`` only buffers and registers the socket with the reactor (an ``epoll_ctl``
through asyncio's ``add_writer``); the ``send()`` happens an event-loop iteration later and the
socket is unregistered again: two ``epoll_ctl`` and a callback per viewer per frame.
"""
from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

Send = Callable[[dict], Awaitable[None]]


def unwrap_send(send: Send) -> Send:
    """The server's own send callable, below Channels' session wrapper (which only matters for
    HTTP responses: it saves the session when a response starts)."""
    for _ in range(8):
        owner = getattr(send, "__self__", None)
        inner = getattr(owner, "real_send", None)
        if inner is None:
            return send
        send = inner
    return send


def _twisted_buffered(transport) -> Callable[[], int]:
    def buffered() -> int:
        return len(transport.dataBuffer) - transport.offset + transport._tempDataLen
    return buffered


def outbound_probe(send: Send) -> Callable[[], int] | None:
    """A function returning the bytes queued in the server for this socket, or None."""
    if isinstance(send, functools.partial) and send.args:
        transport = getattr(send.args[0], "transport", None)
        if transport is not None and hasattr(transport, "dataBuffer") and hasattr(transport, "_tempDataLen"):
            return _twisted_buffered(transport)
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is not None and hasattr(transport, "get_write_buffer_size"):
        return transport.get_write_buffer_size
    return None


class DirectSocket:
    """The raw socket under one daphne WebSocket, for writes that bypass Twisted's buffer.

    Every other server-to-client byte (snapshot, pongs, protocol pings, close frames) goes
    through Twisted's buffer, so a direct ``send()`` is allowed only while that buffer is empty
    (``idle()``): the kernel then already has every earlier byte, and the new ones follow them.
    Whatever ``send()`` did not take goes back through ``transport.write`` (``write_rest``),
    after which the buffer is not empty and later frames queue behind it. ``idle()`` and
    ``write_rest()`` touch Twisted objects: event-loop thread only. ``send`` is the socket's own
    bound method, safe from any thread while the loop thread waits (hub.py's fan-out)."""

    __slots__ = ("send", "idle", "write_rest")

    def __init__(self, protocol, transport):
        self.send = transport.socket.send

        def idle() -> bool:
            return (protocol.state == protocol.STATE_OPEN and not protocol.send_queue
                    and transport.connected and not transport.disconnecting
                    and not transport._writeDisconnected and not transport._tempDataLen
                    and len(transport.dataBuffer) == transport.offset)

        self.idle = idle
        self.write_rest = transport.write


def direct_socket(send: Send) -> DirectSocket | None:
    """A DirectSocket for a daphne WebSocket over plain TCP; None for anything else (uvicorn's
    uvloop transport already sends at once when its buffer is empty; TLS needs Twisted)."""
    if not (isinstance(send, functools.partial) and send.args):
        return None
    protocol = send.args[0]
    if not hasattr(protocol, "STATE_OPEN") or not hasattr(protocol, "send_queue"):
        return None
    transport = getattr(protocol, "transport", None)
    from twisted.internet import tcp

    if not isinstance(transport, tcp.Connection) or getattr(transport, "TLS", False):
        return None
    if not all(hasattr(transport, a) for a in ("dataBuffer", "offset", "_tempDataLen", "_writeDisconnected")):
        return None
    return DirectSocket(protocol, transport)


def ws_text_frame(payload: bytes) -> bytes:
    """One unmasked, unfragmented WebSocket text frame (server to client, RFC 6455 5.2)."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return bytes((0x81, 126)) + n.to_bytes(2, "big") + payload
    return bytes((0x81, 127)) + n.to_bytes(8, "big") + payload


def prepared_sender(send: Send) -> Callable[[bytes], bool] | None:
    """A function writing an already framed text message straight to this socket's transport,
    returning False when the socket is no longer open; None when the server is not one we know
    (or the socket negotiated compression, whose frames we do not build)."""
    if isinstance(send, functools.partial) and send.args:  # daphne (autobahn over Twisted)
        protocol = send.args[0]
        if not hasattr(protocol, "STATE_OPEN") or getattr(protocol, "_perMessageCompress", None) is not None:
            return None

        def daphne_write(frame: bytes) -> bool:
            if protocol.state != protocol.STATE_OPEN:
                return False  # closing: the consumer's disconnect removes the viewer
            if protocol.send_queue:  # autobahn is trickling something out: stay behind it
                protocol.sendData(frame)
            else:
                protocol.transport.write(frame)
            return True
        return daphne_write
    protocol = getattr(send, "__self__", None)
    conn = getattr(protocol, "conn", None)  # uvicorn's websockets-sansio protocol
    if conn is None or not hasattr(protocol, "close_sent") or getattr(conn, "extensions", None):
        return None
    from websockets.protocol import State

    def uvicorn_write(frame: bytes) -> bool:
        if protocol.close_sent or conn.state is not State.OPEN or protocol.transport.is_closing():
            return False
        protocol.transport.write(frame)
        return True
    return uvicorn_write
