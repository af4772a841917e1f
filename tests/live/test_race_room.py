"""The race room consumer: snapshot at once, then live frames and events; heartbeats; conflation."""
import json

from channels.db import database_sync_to_async

from apps.core import live_keys as keys
from apps.core.events import race_event_publish
from apps.core.redis import get_redis
from apps.live.engine import RaceEngine
from apps.live.hub import get_hub
from tests.live.conftest import connect, transactional
from tests.live.factories import LiveRaceFactory
from tests.support.factories import write_quotes

pytestmark = transactional


def _engine():
    engine = RaceEngine(get_redis(), lease_ms=5000)
    assert engine.lease.acquire()
    engine.tick = int(engine.redis_time())
    return engine


def _frame(engine):
    engine.tick += 1
    assert engine.cycle(engine.tick).published >= 1


def test_snapshot_at_once_then_frames_byte_for_byte(run_async, redis_client):
    race = LiveRaceFactory()
    write_quotes({"AAA": 101.0})
    engine = _engine()
    _frame(engine)

    async def scenario():
        ws = connect(f"/ws/races/{race.id}/")
        connected, _ = await ws.connect()
        assert connected
        snapshot = json.loads(await ws.receive_from(timeout=5))
        assert snapshot["type"] == "snapshot" and snapshot["race"] == race.id and snapshot["state"] == "running"
        assert snapshot["frame"]["seq"] == 1 and 0 < snapshot["time_left"] <= 300
        assert [e["symbol"] for e in snapshot["entries"]] == ["AAA", "BBB", "CCC"]
        assert "odds" in snapshot
        await database_sync_to_async(_frame)(engine)
        text = await ws.receive_from(timeout=5)
        assert text == redis_client.get(keys.RACE_LAST_FRAME.format(race.id))
        assert json.loads(text)["seq"] == 2
        race_event_publish(race_id=race.id, event_type="finished", payload={"ends_at": 1})
        event = json.loads(await ws.receive_from(timeout=5))
        assert event["type"] == "finished" and event["data"] == {"ends_at": 1}
        await ws.disconnect()

    run_async(scenario)


def test_reconnect_gets_a_fresh_snapshot_with_kept_events(run_async):
    race = LiveRaceFactory()
    engine = _engine()
    _frame(engine)
    race_event_publish(race_id=race.id, event_type="settled", payload={"results": [1, 2, 3], "leaderboard": []})

    async def scenario():
        for _ in range(2):
            ws = connect(f"/ws/races/{race.id}/")
            assert (await ws.connect())[0]
            snapshot = json.loads(await ws.receive_from(timeout=5))
            assert snapshot["events"]["settled"]["data"]["results"] == [1, 2, 3]
            await ws.disconnect()
            await database_sync_to_async(_frame)(engine)

    run_async(scenario)


def test_unknown_race_is_closed_with_4404(run_async):
    async def scenario():
        ws = connect("/ws/races/999999/")
        assert (await ws.connect())[0]
        assert (await ws.receive_output(timeout=5)) == {"type": "websocket.close", "code": 4404}

    run_async(scenario)


def test_heartbeat_and_pong(run_async, settings):
    settings.LIVE_WS_HEARTBEAT_SECONDS = 0.3
    race = LiveRaceFactory()

    async def scenario():
        ws = connect(f"/ws/races/{race.id}/")
        assert (await ws.connect())[0]
        assert json.loads(await ws.receive_from(timeout=5))["type"] == "snapshot"
        ping = json.loads(await ws.receive_from(timeout=5))
        assert ping["type"] == "ping" and ping["ts"] > 0
        await ws.send_to(text_data='{"type":"ping"}')
        while (message := json.loads(await ws.receive_from(timeout=5)))["type"] == "ping":
            pass
        assert message == {"type": "pong"}
        await ws.disconnect()

    run_async(scenario)


def test_a_viewer_that_cannot_keep_up_holds_only_the_latest_frame(run_async, redis_client):
    race = LiveRaceFactory()

    async def scenario():
        ws = connect(f"/ws/races/{race.id}/")
        assert (await ws.connect())[0]
        await ws.receive_from(timeout=5)  # snapshot
        hub = get_hub()
        (viewer,) = hub.rooms[keys.race_channel(race.id)]
        viewer.probe = lambda: 10**9  # as if the server's buffer for this socket were full
        channel = keys.race_channel(race.id)
        for seq in range(1, 501):
            await hub.fan_out(channel, b'{"type":"frame","race":%d,"seq":%d,"ts":1}' % (race.id, seq))
        assert len(viewer.pending) == 1 and viewer.conflated == 499
        assert hub.stats()["backlogged"] == 1 and hub.stats()["conflated"] == 499
        viewer.probe = lambda: 0  # the client reads again
        assert await viewer.flush()
        assert json.loads(await ws.receive_from(timeout=5))["seq"] == 500
        assert await ws.receive_nothing(timeout=0.2)
        await ws.disconnect()

    run_async(scenario)


def test_health_counts_connections_per_process(run_async, redis_client):
    from apps.live.selectors import ws_process_counts

    race = LiveRaceFactory()

    async def scenario():
        ws = connect(f"/ws/races/{race.id}/")
        assert (await ws.connect())[0]
        await ws.receive_from(timeout=5)
        await get_hub().report_health()
        (process,) = ws_process_counts(redis_client)
        assert process["race_viewers"] == 1 and process["total"] == 1 and process["races"] == 1
        await ws.disconnect()

    run_async(scenario)
