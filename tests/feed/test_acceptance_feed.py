"""Acceptance: a real exchange simulator process, the worker in a thread, real Redis and
PostgreSQL. Kill the simulator (SIGKILL) mid-stream and start it again: the worker backs off,
reconnects and backfills; the snapshots of the active symbols have no hole longer than their
interval; while the feed is down the market-data health check reports a growing lag."""
from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection

from apps.core.health import system_health
from apps.core.redis import get_redis
from apps.feed.models import DataGap, PriceSnapshot
from apps.providers import AlpacaProvider
from apps.feed.worker import FeedWorker
from apps.market.candles import CandleBuilder
from apps.market.models import Candle
from apps.market.quotes import FEED_KEY
from apps.races.models import Race
from tests.support import processes
from tests.support.factories import RaceFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ACTIVE = ["SIM001", "SIM002", "SIM003"]  # synthetic: nobody else listens on their channels
ACTIVE_SECONDS = 0.5


def start_simulator(port: int, state_dir: Path) -> processes.Process:
    proc = processes.manage("run_exchange_sim", "--port", str(port), "--state-dir", str(state_dir), "--symbols", "6",
                            "--synthetic", "--ticks-per-second", "8", "--seed", "11", name="exchange-sim")
    proc.wait_until(processes.listening(port), timeout=20, what=f"listening on {port}")
    return proc


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def market_data_check() -> dict:
    return system_health()["checks"]["market_data"]


def test_killing_the_simulator_mid_stream(port, tmp_path, sim_stocks, settings, caplog, monkeypatch):
    monkeypatch.setattr("apps.feed.worker.BACKOFF_CAP_SECONDS", 2.0)  # keeps the test short
    settings.SNAPSHOT_ACTIVE_SECONDS = ACTIVE_SECONDS
    settings.SNAPSHOT_IDLE_SECONDS = 5.0
    settings.MARKET_DATA_STALE_SECONDS = 1.5
    caplog.set_level(logging.INFO, logger="stockrace.market-data")
    RaceFactory(state=Race.State.RUNNING, title="Acceptance sprint", symbols=ACTIVE, starts_in=timedelta(minutes=1),
                open_prices=())  # its stocks are snapshotted every ACTIVE_SECONDS

    simulator = start_simulator(port, tmp_path)
    provider = AlpacaProvider(key="k", secret="s", ws_url=f"ws://127.0.0.1:{port}/v2/sim",
                              rest_url=f"http://127.0.0.1:{port}")
    stopping = threading.Event()
    worker = FeedWorker(provider=provider, redis=get_redis(), stopping=stopping, candles=CandleBuilder())
    failure: list[BaseException] = []

    def run_worker():
        try:
            worker.run()
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failure.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run_worker, name="market-data", daemon=True)
    thread.start()
    try:
        wait_for(lambda: worker.ingestor.ticks > 100 and worker.ingestor.grid.active == set(ACTIVE), 20,
                 "live ticks")
        time.sleep(2)
        check = market_data_check()
        assert check["ok"], check

        simulator.kill()
        lags = []
        for _ in range(3):
            time.sleep(1.2)
            lags.append(market_data_check())
        assert [c["ok"] for c in lags][-2:] == [False, False]
        assert lags[0]["lag_s"] < lags[1]["lag_s"] < lags[2]["lag_s"]
        assert "feed silent" in lags[2]["error"]
        assert get_redis().hget(FEED_KEY, "connected") == "0"
        assert get_redis().hget("quote:SIM001", "stale") == "1"

        simulator = start_simulator(port, tmp_path)
        wait_for(lambda: DataGap.objects.filter(reason="disconnect").exists(), 30,
                 "the gap to be backfilled and recorded")
        time.sleep(2)
        check = market_data_check()
        assert check["ok"], (check, get_redis().hgetall(FEED_KEY))
    finally:
        stopping.set()
        thread.join(15)
        simulator.stop()
    assert not failure and not thread.is_alive()

    messages = [r.getMessage() for r in caplog.records]
    assert any("connection to alpaca lost" in m for m in messages)
    assert any("exponential backoff with jitter" in m for m in messages)
    gap = DataGap.objects.get()  # one gap: the disconnect, no false silence
    assert gap.backfilled and gap.backfilled_trades > 0 and gap.reason == "disconnect"
    assert (gap.end - gap.start).total_seconds() > 3
    assert get_redis().hget("quote:SIM001", "stale") == "0"

    for symbol in ACTIVE:
        stamps = [ts.timestamp() for ts in PriceSnapshot.objects.filter(symbol=symbol).order_by("ts")
                  .values_list("ts", flat=True)]
        holes = [b - a for a, b in zip(stamps, stamps[1:]) if b - a > ACTIVE_SECONDS + 1e-6]
        assert holes == [], f"{symbol}: snapshots missing between {stamps[0]} and {stamps[-1]}"
        assert stamps[0] < gap.start.timestamp() and stamps[-1] > gap.end.timestamp()
    backfilled = PriceSnapshot.objects.filter(symbol="SIM001", backfilled=True)
    assert backfilled.count() >= int((gap.end - gap.start).total_seconds() / ACTIVE_SECONDS) - 1
    # Idle symbols are snapshotted on the slow grid only.
    idle = list(PriceSnapshot.objects.filter(symbol="SIM006").values_list("ts", flat=True))
    assert idle and all(ts.timestamp() % 5 == 0 for ts in idle)
    assert Candle.objects.filter(stock__symbol="SIM001", interval="1m").exists()
