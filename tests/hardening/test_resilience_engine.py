"""The race engine through Redis restarts: a real engine process on a private redis-server that
the test shuts down (or kills) and starts again under it, three times in a row. Frames resume
within the lease plus a standby poll of Redis answering again — and at once when Redis comes
back holding the engine's own lease (saved with its data), instead of after the lease's TTL."""
from __future__ import annotations

import json
import time

import pytest
from django.conf import settings

from apps.core import live_keys as keys
from apps.live.lease import Lease
from tests.live.conftest import transactional
from tests.live.factories import LiveRaceFactory
from tests.support import processes

POLL_SECONDS = 0.2
SLACK = 2.5  # a cycle, a process scheduled late on a loaded machine: far below the stalls it guards


def _last_seq(client, race_id: int) -> int:
    raw = client.get(keys.RACE_LAST_FRAME.format(race_id))
    return json.loads(raw)["seq"] if raw else 0


def _frame_after(client, race_id: int, seq: int, within: float) -> float | None:
    """Seconds until the race's last frame passes ``seq`` (None: not within ``within`` seconds)."""
    began = time.monotonic()
    while time.monotonic() - began < within:
        try:
            if _last_seq(client, race_id) > seq:
                return time.monotonic() - began
        except Exception:  # noqa: BLE001 - Redis still loading its data
            pass
        time.sleep(0.05)
    return None


@pytest.mark.slow
@transactional
@pytest.mark.parametrize("lease_ms, down_seconds, kill, within", [
    # Down longer than the lease: it has expired; the engine takes it at its next poll.
    (1000, 3.0, False, 1.0 + POLL_SECONDS + SLACK),
    (1000, 3.0, True, 1.0 + POLL_SECONDS + SLACK),
    # Down long enough for a cycle to fail, shorter than the lease: Redis comes back holding the
    # engine's own lease with seconds to go, which it must not wait out.
    (10000, 1.5, False, POLL_SECONDS + SLACK),
], ids=["down-3s", "killed-down-3s", "own-lease-restored"])
def test_the_engine_frames_again_soon_after_redis_restarts(lease_ms, down_seconds, kill, within):
    race = LiveRaceFactory()
    with processes.RedisServer() as server:
        client = server.client(db=settings.REDIS_TEST_DB)
        for symbol, price in {"AAA": 101.0, "BBB": 49.0, "CCC": 10.5}.items():
            client.hset(f"quote:{symbol}", mapping={"price": price, "recv": time.time()})
        engine = processes.race_engine(REDIS_URL=server.url, LIVE_ENGINE_LEASE_MS=lease_ms,
                                       LIVE_ENGINE_POLL_SECONDS=POLL_SECONDS)
        try:
            assert _frame_after(client, race.id, 0, within=30) is not None, engine.tail()
            for restart in range(3):
                time.sleep(1.2)  # a renewal or two since the last frame
                seq = _last_seq(client, race.id)
                server.restart(down_seconds, kill=kill)
                waited = _frame_after(client, race.id, seq, within=within)
                assert waited is not None, f"restart {restart}: no frame within {within:.1f} s\n{engine.tail(6000)}"
                assert engine.alive()
        finally:
            engine.stop()


def test_a_lease_found_holding_our_own_token_is_ours_again(redis_client):
    """What Redis brings back from its append-only file after a restart: our lease, still live."""
    mine, other = Lease(redis_client, "t:lease", 5000), Lease(redis_client, "t:lease", 5000)
    assert mine.acquire()
    assert mine.acquire() and not other.acquire()  # ours again at once; never someone else's
    assert redis_client.pttl("t:lease") > 4000  # and its TTL renewed
    assert mine.release() and other.acquire() and not mine.acquire()
