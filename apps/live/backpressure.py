"""How many bytes the ASGI server still holds for one WebSocket, when the server lets us see it.

ASGI has no back-pressure signal for ``websocket.send``: daphne (Twisted) appends every
message to the connection's user-space write buffer, which grows without bound when the
client stops reading. To conflate frames for such a viewer we need that buffer's size, so
this module finds the server's transport behind the ``send`` callable:

- daphne passes ``functools.partial(server.handle_reply, protocol)``; the protocol's Twisted
  transport keeps ``dataBuffer``/``offset``/``_tempDataLen`` (twisted.internet.abstract);
- uvicorn passes a bound method of its protocol, whose asyncio transport has
  ``get_write_buffer_size()``.

Anything else (Channels' test communicator) gets no probe: frames are sent as they come.

For daphne it also offers a broadcast fast path: autobahn's ``PreparedMessage`` (its documented
way to send one payload on many connections) frames a message once per process; the framed
bytes are then written straight to each socket's transport. That is what autobahn's
``sendData`` does for an open, uncompressed socket with nothing queued, minus its debug log
line, whose arguments (``hltype``/``hlval``, colourised with click) it formats on every call
even with debug logging off: profiling showed that formatting was most of the broadcast's CPU.
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


def prepared_sender(send: Send) -> Callable[[object], None] | None:
    """For daphne: a function sending an autobahn PreparedMessage on this socket (if still open)."""
    if not (isinstance(send, functools.partial) and send.args):
        return None
    protocol = send.args[0]
    if not hasattr(protocol, "sendPreparedMessage") or not hasattr(protocol, "STATE_OPEN"):
        return None

    def send_prepared(prepared) -> None:
        if protocol.state != protocol.STATE_OPEN:
            return  # closing or closed: the consumer's disconnect removes the viewer
        if protocol._perMessageCompress is None and not protocol.send_queue:
            protocol.transport.write(prepared.payloadHybi)
        else:
            protocol.sendPreparedMessage(prepared)
    return send_prepared
