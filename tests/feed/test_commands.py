"""The two processes' commands wire the right provider, symbols and engine."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command

from apps.feed.exchange_sim.history import GbmEngine
from apps.feed.exchange_sim.replay import ReplayEngine


@pytest.fixture
def captured_worker(monkeypatch):
    seen = {}

    def run(worker):
        seen["worker"] = worker

    monkeypatch.setattr("apps.feed.management.commands.run_market_data.FeedWorker.run", run)
    return seen


def test_market_data_subscribes_the_simulator_to_everything(db, demo_stocks, captured_worker, settings):
    settings.MARKET_DATA_PROVIDER = "simulator"
    call_command("run_market_data")
    worker = captured_worker["worker"]
    assert worker.provider.name == "simulator" and worker.symbols is None


def test_market_data_subscribes_a_real_provider_to_the_listed_stocks(db, demo_stocks, captured_worker):
    call_command("run_market_data", provider="finnhub")
    worker = captured_worker["worker"]
    assert worker.provider.name == "finnhub" and len(worker.symbols) == 48 and "AAPL" in worker.symbols


@pytest.fixture
def captured_server(monkeypatch):
    seen = {}

    async def run_server(engine, listings, **kwargs):
        seen.update(engine=engine, listings=listings, **kwargs)

    monkeypatch.setattr("apps.feed.management.commands.run_exchange_sim.run_server", run_server)
    return seen


def test_exchange_sim_defaults_to_the_gbm_model_on_the_stock_table(db, demo_stocks, captured_server, tmp_path):
    call_command("run_exchange_sim", "--state-dir", str(tmp_path), "--symbols", "50", "--port", "8499")
    assert isinstance(captured_server["engine"], GbmEngine)
    symbols = [x.symbol for x in captured_server["listings"]]
    assert len(symbols) == 50 and symbols[:2] == ["AAPL", "ADBE"] and symbols[-2:] == ["SIM001", "SIM002"]
    assert captured_server["port"] == 8499 and captured_server["mode"] == "gbm"


DATA = Path(django_settings.BASE_DIR).parent / "shared" / "data" / "market" / "intraday_1min"


@pytest.mark.skipif(not (DATA / "AAPL_1min.csv").exists(), reason=f"real bars not found in {DATA}")
def test_exchange_sim_replays_when_the_provider_is_replay(db, captured_server, settings, tmp_path):
    settings.MARKET_DATA_PROVIDER = "replay"
    settings.REPLAY_DIR, settings.REPLAY_SPEED = str(DATA), 10.0
    call_command("run_exchange_sim", "--state-dir", str(tmp_path))
    engine = captured_server["engine"]
    assert isinstance(engine, ReplayEngine) and engine.window == 6.0
    assert "AAPL" in [x.symbol for x in captured_server["listings"]]
    assert captured_server["mode"] == "replay 10x"


def test_stocks_listed_later_are_subscribed_on_the_open_stream(db, demo_stocks, captured_worker):
    from apps.market.models import Stock

    call_command("run_market_data", provider="alpaca")
    worker = captured_worker["worker"]
    sent = []

    class Socket:
        def send(self, message):
            sent.append(message)

    assert worker.subscribe_new(Socket()) == []
    Stock.objects.create(symbol="NEWCO", name="New Co", sector="Technology")
    assert worker.subscribe_new(Socket()) == ["NEWCO"]
    assert sent == ['{"action":"subscribe","trades":["NEWCO"],"quotes":["NEWCO"]}']
    assert "NEWCO" in worker.symbols
