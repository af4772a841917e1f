"""Acceptance: a viewer whose socket stops reading does not grow a real daphne process's memory.

A raw client completes the WebSocket handshake and then never reads. 60 MB of frames are
published to its race; the server keeps only the latest frame for it (the hub's health hash
counts the conflated frames) and its resident memory stays far below what it was sent.
"""
from __future__ import annotations

import socket
import time

import psutil
import pytest

from apps.core import live_keys as keys
from apps.core.redis import get_redis
from apps.live.selectors import ws_process_counts
from tests.live.conftest import transactional
from tests.live.factories import LiveRaceFactory
from tests.live.raw_ws import raw_ws_connect
from tests.support import processes

pytestmark = [transactional, pytest.mark.slow]

FRAMES, FRAME_BYTES = 3000, 20_000


def _handshake_and_stop_reading(port: int, race_id: int) -> socket.socket:
    return raw_ws_connect(port, race_id, rcvbuf=4096)  # a small window fills quickly; nothing is read


def _wait_for_subscribers_to_catch_up(client, limit=4_000_000, timeout=30.0) -> None:
    """Pace the publisher: Redis disconnects a subscriber more than 32 MB behind
    (client-output-buffer-limit pubsub), which on a loaded machine a hub can be when 60 MB are
    published in a fraction of a second. That is not what this test is about."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if max((int(c["omem"]) for c in client.client_list(_type="pubsub")), default=0) < limit:
            return
        time.sleep(0.01)


def test_non_reading_viewer_is_conflated_and_memory_stays_bounded():
    race = LiveRaceFactory()
    server = processes.daphne()
    try:
        sock = _handshake_and_stop_reading(server.port, race.id)
        time.sleep(1.0)  # the snapshot is out; the viewer is live
        rss_before = psutil.Process(server.pid).memory_info().rss
        client = get_redis()
        padding = "x" * FRAME_BYTES
        channel = keys.race_channel(race.id)
        for seq in range(1, FRAMES + 1):
            client.publish(channel, '{"type":"frame","race":%d,"seq":%d,"pad":"%s"}' % (race.id, seq, padding))
            if seq % 100 == 0:
                _wait_for_subscribers_to_catch_up(client)
        # The hub reports every 5 s; on a loaded machine it may take a while to work through
        # 60 MB, so wait for the work to be done rather than a fixed time.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(1)
            (process,) = ws_process_counts(client)
            if process["conflated"] > FRAMES * 0.9:
                break
        rss_growth = psutil.Process(server.pid).memory_info().rss - rss_before
        sock.close()
    finally:
        server.stop()
    sent = FRAMES * FRAME_BYTES
    assert process["race_viewers"] == 1
    assert process["conflated"] > FRAMES * 0.9, process
    assert rss_growth < sent / 4, f"server grew {rss_growth / 1e6:.1f} MB for {sent / 1e6:.0f} MB sent"
