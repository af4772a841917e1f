"""The race engine: frames per running race, sequence across restarts, the lease and fencing."""
import json
import threading

import pytest

from apps.core import live_keys as keys
from apps.core.redis import get_redis
from apps.live.engine import RaceEngine
from apps.live.lease import Lease
from apps.races.models import Race
from tests.live.factories import LiveRaceFactory
from tests.support.factories import write_quotes


def _engine(**kw):
    return RaceEngine(get_redis(), lease_ms=kw.pop("lease_ms", 1000), **kw)


@pytest.mark.django_db
def test_one_frame_per_running_race_with_prices_changes_and_positions(redis_client):
    race = LiveRaceFactory()
    LiveRaceFactory(state=Race.State.OPEN)  # not framed
    write_quotes({"AAA": 99.0, "BBB": 51.0})
    write_quotes({"CCC": 10.5}, age=60)
    engine = _engine()
    assert engine.lease.acquire()
    result = engine.cycle(tick=int(engine.redis_time()))
    assert result.races == 1 and result.published == 1
    frame = json.loads(redis_client.get(keys.RACE_LAST_FRAME.format(race.id)))
    assert frame["race"] == race.id and frame["seq"] == 1
    stocks = {s["symbol"]: s for s in frame["stocks"]}
    assert stocks["CCC"]["change_pct"] == 5.0 and stocks["CCC"]["position"] == 1 and stocks["CCC"]["stale"]
    assert stocks["BBB"]["change_pct"] == 2.0 and stocks["BBB"]["position"] == 2
    assert stocks["AAA"]["change_pct"] == -1.0 and stocks["AAA"]["position"] == 3 and not stocks["AAA"]["stale"]
    assert frame["stale"] is True and 0 < frame["left"] <= 300


@pytest.mark.django_db
def test_sequence_continues_in_a_new_engine_and_a_second_is_framed_once(redis_client):
    race = LiveRaceFactory()
    first = _engine()
    assert first.lease.acquire()
    tick = int(first.redis_time())
    assert first.cycle(tick).published == 1
    assert first.cycle(tick).published == -2  # the same second again: refused
    first.lease.release()
    second = _engine()
    assert second.lease.acquire()
    assert second.cycle(tick + 1).published == 1
    assert json.loads(redis_client.get(keys.RACE_LAST_FRAME.format(race.id)))["seq"] == 2


@pytest.mark.django_db
def test_an_engine_without_the_lease_publishes_nothing(redis_client):
    LiveRaceFactory()
    holder, intruder = _engine(), _engine()
    assert holder.lease.acquire() and not intruder.lease.acquire()
    assert intruder.cycle(int(intruder.redis_time())).published == -1
    assert redis_client.get(keys.ENGINE_TICK) is None


def test_lease_is_renewed_only_by_its_holder(redis_client):
    a, b = Lease(redis_client, "t:lease", 500), Lease(redis_client, "t:lease", 500)
    assert a.acquire() and not b.acquire()
    assert a.renew() and not b.renew()
    assert not b.release() and a.release()
    assert b.acquire()


@pytest.mark.django_db
def test_run_loop_publishes_every_second_and_stops(redis_client):
    race = LiveRaceFactory()
    write_quotes({"AAA": 100.0})
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(keys.race_channel(race.id))
    stopping = threading.Event()
    timer = threading.Timer(3.2, stopping.set)
    timer.start()
    _engine().run(stopping)  # in this thread: it sees the test's uncommitted race
    frames = []
    while (message := pubsub.get_message(timeout=0.5)) is not None or not frames:
        if message is not None:
            frames.append(json.loads(message["data"]))
    assert len(frames) >= 3
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
    assert len({int(f["ts"]) for f in frames}) == len(frames)  # one frame per Redis second
    assert redis_client.get(keys.ENGINE_LEASE) is None  # released on stop
