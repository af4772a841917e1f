"""A raw WebSocket handshake for live tests that read slowly or not at all."""
from __future__ import annotations

import base64
import os
import socket


def raw_ws_connect(port: int, race_id: int, *, rcvbuf: int) -> socket.socket:
    """A raw socket upgraded to a WebSocket on /ws/races/{race_id}/, with a small receive buffer
    (for tests that read slowly or not at all); returns once the server answered 101."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /ws/races/{race_id}/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  f"Origin: http://127.0.0.1:{port}\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock
