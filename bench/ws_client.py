"""A lean WebSocket load generator: raw asyncio protocols, no WebSocket library per message.

Each process opens its share of connections, answers protocol pings, and for every race frame
records ``receipt time - frame["ts"]`` (the frame's Redis timestamp; Redis runs on this host, so
both clocks are the same). Frames are not JSON-decoded: the "ts" field is cut out of the bytes.
Used by bench/ws_fanout.py, which runs several of these processes (on uvloop when installed)
and reports their CPU use.
"""
from __future__ import annotations

import asyncio
import base64
import os
import resource
import time

FRAME_HEAD = b'{"type":"frame"'
TS = b'"ts":'


class Viewer(asyncio.Protocol):
    def __init__(self, stats: dict, path: str, host: str):
        self.stats, self.path, self.host = stats, path, host
        self.buf = bytearray()
        self.open = False
        self.ready = asyncio.get_running_loop().create_future()

    def connection_made(self, transport):
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write((f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                         f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                         f"Origin: http://{self.host}\r\n\r\n").encode())

    def connection_lost(self, exc):
        self.stats["closed"] += 1
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("closed during handshake"))

    def data_received(self, data):
        now = time.time()
        buf = self.buf
        buf += data
        if not self.open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.ready.set_exception(ConnectionError(bytes(buf[:40])))
                self.transport.close()
                return
            del buf[:end + 4]
            self.open = True
        while len(buf) >= 2:
            opcode, length, offset = buf[0] & 0x0F, buf[1] & 0x7F, 2
            if length == 126:
                if len(buf) < 4:
                    return
                length, offset = int.from_bytes(buf[2:4], "big"), 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length, offset = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < offset + length:
                return
            payload = bytes(buf[offset:offset + length])
            del buf[:offset + length]
            if opcode == 1:
                if payload.startswith(FRAME_HEAD):
                    i = payload.find(TS) + len(TS)
                    ts = float(payload[i:payload.index(b",", i)])
                    if self.stats["measuring"]:
                        self.stats["delays"].append(now - ts)
                        worst = self.stats["worst_by_second"]
                        second = int(ts)
                        if now - ts > worst.get(second, 0.0):
                            worst[second] = now - ts
                    self.stats["frames"] += 1
                elif not self.ready.done():
                    self.ready.set_result(True)  # the snapshot
            elif opcode == 9:  # ping: answer with a masked pong
                mask = os.urandom(4)
                body = bytes(b ^ mask[j % 4] for j, b in enumerate(payload))
                self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + mask + body)


async def _open(loop, stats, port, path, attempts=20):
    for attempt in range(attempts):
        transport = None
        try:
            transport, viewer = await loop.create_connection(lambda: Viewer(stats, path, f"127.0.0.1:{port}"),
                                                             "127.0.0.1", port)
            await asyncio.wait_for(viewer.ready, 30)
            return viewer
        except (OSError, ConnectionError, asyncio.TimeoutError):
            if transport is not None:
                transport.close()  # never leave a half-open viewer behind
            await asyncio.sleep(0.2 * (attempt + 1))
    stats["failed"] += 1
    return None


async def run_client(targets: list[tuple[int, int]], conn, batch: int = 100) -> None:
    """targets: (port, race_id) per connection. Talks to the parent over ``conn`` (a Pipe end)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    loop = asyncio.get_running_loop()
    stats = {"delays": [], "worst_by_second": {}, "frames": 0, "closed": 0, "failed": 0, "measuring": False}
    viewers = []
    for start in range(0, len(targets), batch):
        chunk = targets[start:start + batch]
        viewers += await asyncio.gather(*(_open(loop, stats, port, f"/ws/races/{race}/") for port, race in chunk))
    conn.send({"connected": sum(v is not None for v in viewers), "failed": stats["failed"]})
    await loop.run_in_executor(None, conn.recv)  # "measure"
    cpu0 = _cpu()
    stats["measuring"], stats["frames"] = True, 0
    await loop.run_in_executor(None, conn.recv)  # "stop"
    stats["measuring"] = False
    conn.send({"delays": stats["delays"], "worst_by_second": stats["worst_by_second"], "frames": stats["frames"], "closed": stats["closed"],
               "cpu_seconds": _cpu() - cpu0})


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def client_main(targets, conn):
    # uvloop (compiled) when installed: about half the load generator's CPU per frame, which on
    # a machine shared with the servers is CPU the servers get back.
    try:
        import uvloop
    except ImportError:
        asyncio.run(run_client(targets, conn))
    else:
        uvloop.run(run_client(targets, conn))
