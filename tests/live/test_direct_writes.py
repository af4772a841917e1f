"""The hub's direct socket writes (backpressure.DirectSocket, fanout.ParallelSender).

A frame goes straight to a socket with one ``send()`` only while the server holds nothing for
it; whatever ``send()`` does not take (a partial send, EAGAIN, an error) goes through the
server's buffer, behind which later messages queue. Every byte a viewer gets must arrive once,
in order, with frames from the fast and the buffered path never interleaved.
"""
from __future__ import annotations

import asyncio
import random
import socket
import threading
import time

import pytest

from apps.core import live_keys as keys
from apps.core.redis import get_redis
from apps.live.fanout import PARALLEL_MIN, SEND_ERROR, ParallelSender
from apps.live.hub import Hub
from apps.live.viewer import EVENT, FRAME, Outgoing
from tests.live.conftest import transactional
from tests.live.factories import LiveRaceFactory
from tests.live.raw_ws import raw_ws_connect
from tests.support import processes


class FakeSocket:
    """A socket whose kernel takes at most ``room`` bytes until ``drain()``, behind a server
    buffer like Twisted's: ``write_rest`` buffers, ``flush`` moves the buffer to the kernel."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.received = bytearray()  # what the client got, in order
        self.buffer = bytearray()  # the server's user-space buffer (Twisted's dataBuffer)
        self.room = 0

    # DirectSocket's interface
    def send(self, data: bytes) -> int:
        if self.rng.random() < 0.05:
            raise ConnectionResetError  # the hub must hand the whole frame to the buffered path
        if self.room == 0:
            raise BlockingIOError
        n = min(self.room, len(data))
        self.received += data[:n]
        self.room -= n
        return n

    def idle(self) -> bool:
        return not self.buffer

    def write_rest(self, data: bytes) -> None:
        self.buffer += data

    # the server's buffered path (what daphne_write and Twisted's doWrite do)
    def write_prepared(self, data: bytes) -> bool:
        self.buffer += data
        return True

    def flush_all(self) -> None:
        self.received += self.buffer
        self.buffer.clear()

    def drain(self) -> None:
        self.room = self.rng.choice((0, 7, 100, 1000, 10**6))
        n = min(self.room, len(self.buffer))
        self.received += self.buffer[:n]
        del self.buffer[:n]
        self.room -= n


def _viewer(hub: Hub, fake: FakeSocket):
    async def asgi_send(message):  # never used: the viewer has a prepared sender
        raise AssertionError(message)

    viewer = hub.new_viewer(asgi_send)
    viewer.direct, viewer.send_prepared = fake, fake.write_prepared
    viewer.probe = lambda: len(fake.buffer)
    viewer.limit = 10**9  # no conflation here: every message must arrive
    viewer.ready = True
    return viewer


@pytest.mark.parametrize("viewers", [3, PARALLEL_MIN * 3])
def test_partial_sends_fall_back_to_the_buffer_and_keep_bytes_in_order(viewers):
    async def scenario():
        hub = Hub()
        try:
            rngs = [random.Random(i) for i in range(viewers)]
            fakes = [FakeSocket(rng) for rng in rngs]
            room = {_viewer(hub, fake) for fake in fakes}
            expected = bytearray()
            for seq in range(1, 201):
                text = '{"type":"frame","race":1,"seq":%d,"pad":"%s"}' % (seq, "x" * (seq * 37 % 500))
                out = Outgoing.of(FRAME, text, seq) if seq % 10 else Outgoing.of(EVENT, '{"type":"odds","n":%d}' % seq)
                await hub.broadcast(room, out)
                expected += out.wire()
                for fake in fakes:
                    fake.drain()
            for fake in fakes:
                fake.flush_all()
                assert bytes(fake.received) == bytes(expected)
        finally:
            hub.sender.close()

    asyncio.run(scenario())


def test_parallel_sender_sends_each_socket_once_and_reports_what_it_took():
    calls = []
    lock = threading.Lock()

    def make(i):
        def send(data):
            with lock:
                calls.append((i, threading.get_ident()))
            if i % 7 == 0:
                raise BlockingIOError
            if i % 11 == 0:
                raise BrokenPipeError
            return len(data) - (i % 3)
        return send

    sender = ParallelSender(threads=3)
    try:
        n = PARALLEL_MIN * 4
        results = sender.send_all([make(i) for i in range(n)], [b"0123456789"] * n)
    finally:
        sender.close()
    assert sorted(i for i, _ in calls) == list(range(n))
    assert len({t for _, t in calls}) > 1, "the fan-out did not use a second thread"
    for i, sent in enumerate(results):
        expected = 0 if i % 7 == 0 else SEND_ERROR if i % 11 == 0 else 10 - i % 3
        assert sent == expected, i


# -- the real server: a viewer reading slowly through a tiny receive window

FRAMES, FRAME_BYTES = 400, 20_000


def _read_ws_frames(sock: socket.socket, last: bytes, deadline: float) -> list[bytes]:
    """Read server frames slowly (small reads, short pauses) until the payload ``last`` (or the
    ``deadline``, monotonic); return the payloads, checking each frame header on the way."""
    buf = bytearray()
    payloads = []
    sock.settimeout(0.2)
    while time.monotonic() < deadline and (not payloads or payloads[-1] != last):
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            continue
        if not chunk:
            break
        buf += chunk
        time.sleep(0.001)  # ~2-4 MB/s: slower than the publisher, so the server's buffers fill
        while len(buf) >= 2:
            assert buf[0] == 0x81, f"not a final text frame: {bytes(buf[:8])!r}"  # bytes interleaved?
            length, offset = buf[1] & 0x7F, 2
            if length == 126:
                if len(buf) < 4:
                    break
                length, offset = int.from_bytes(buf[2:4], "big"), 4
            elif length == 127:
                if len(buf) < 10:
                    break
                length, offset = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < offset + length:
                break
            payloads.append(bytes(buf[offset:offset + length]))
            del buf[:offset + length]
    return payloads


@transactional
@pytest.mark.slow
def test_slow_reader_on_daphne_gets_whole_frames_in_order():
    race = LiveRaceFactory()
    server = processes.daphne()
    try:
        sock = raw_ws_connect(server.port, race.id, rcvbuf=65536)
        published = {}

        def publish():
            client = get_redis()
            channel = keys.race_channel(race.id)
            for seq in range(1, FRAMES + 1):
                text = '{"type":"frame","race":%d,"seq":%d,"pad":"%s"}' % (race.id, seq, "y" * (FRAME_BYTES + seq))
                published[seq] = text.encode()
                client.publish(channel, text)
                if seq % 50 == 0:
                    client.publish(channel, '{"type":"odds","race":%d,"n":%d}' % (race.id, seq))
                time.sleep(0.002)

        time.sleep(0.5)  # the snapshot is on its way; frames from now on are live
        publisher = threading.Thread(target=publish)
        publisher.start()
        last = b'{"type":"odds","race":%d,"n":%d}' % (race.id, FRAMES)
        payloads = _read_ws_frames(sock, last, time.monotonic() + 30)
        publisher.join()
        sock.close()
    finally:
        server.stop()

    assert payloads[0].startswith(b'{"type":"snapshot"')
    frames = [p for p in payloads if p.startswith(b'{"type":"frame"')]
    seqs = [int(p.split(b'"seq":')[1].split(b",")[0]) for p in frames]
    assert seqs == sorted(set(seqs)), "frames out of order or repeated"
    assert seqs[-1] == FRAMES, "the latest frame did not arrive"
    for seq, payload in zip(seqs, frames):
        assert payload == published[seq], f"frame {seq} arrived altered"
    assert sum(p.startswith(b'{"type":"odds"') for p in payloads) == FRAMES // 50, "a room event was lost"
