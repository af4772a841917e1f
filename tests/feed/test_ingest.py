"""The worker's hot path: quotes and the feed state in Redis, the snapshot grid, snapshots
and candles in PostgreSQL, stale quotes, gap records; and it never dies of bad input."""
from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from apps.feed.ingest import Ingestor
from apps.feed.models import DataGap, PriceSnapshot
from apps.providers import AlpacaProvider, FinnhubProvider
from apps.providers.base import Tick
from apps.providers.timefmt import format_rfc3339
from apps.feed.selectors import gaps_overlapping
from apps.feed.services import datagap_record
from apps.feed.snapshots import SnapshotGrid
from apps.feed.worker import BACKOFF_CAP_SECONDS, backoff_delay
from apps.market.quotes import FEED_KEY, QUOTE_CHANNEL, read_quotes

T0 = 1_790_000_000.0


def trade(symbol, price, ts, size=100):
    return {"T": "t", "S": symbol, "i": 1, "x": "V", "p": price, "s": size, "t": format_rfc3339(ts), "c": ["@"],
            "z": "C"}


def quote(symbol, bid, ask, ts):
    return {"T": "q", "S": symbol, "bx": "V", "bp": bid, "bs": 1, "ax": "V", "ap": ask, "as": 1,
            "t": format_rfc3339(ts), "c": ["R"], "z": "C"}


def frame(*messages) -> bytes:
    return orjson.dumps(list(messages))


def make_ingestor(redis_client, *, active=(), active_seconds=1.0, idle_seconds=15.0, candles=None, provider=None):
    grid = SnapshotGrid(active_seconds=active_seconds, idle_seconds=idle_seconds, max_fill=10.0)
    grid.active = set(active)
    return Ingestor(provider=provider or AlpacaProvider(), redis=redis_client, candles=candles, grid=grid)


def test_latest_quote_and_feed_state_go_to_redis_and_every_change_is_published(redis_client):
    pubsub = redis_client.pubsub()
    pubsub.subscribe(QUOTE_CHANNEL.format("SIM001"))
    pubsub.get_message(timeout=1)
    ingestor = make_ingestor(redis_client)
    ingestor.on_frame(frame(trade("SIM001", 200.0, T0, 100), quote("SIM001", 199.9, 200.1, T0 + 0.1)))
    ingestor.on_frame(frame(trade("SIM001", 200.5, T0 + 0.2, 50), trade("SIM002", 400.0, T0 + 0.3, 10)))
    ingestor.flush_redis()
    quotes = read_quotes(redis_client, ["SIM001", "SIM002"])
    aapl = quotes["SIM001"]
    assert (aapl.price, aapl.bid, aapl.ask, aapl.volume, aapl.ts) == (200.5, 199.9, 200.1, 150, T0 + 0.2)
    assert aapl.recv > T0
    published = pubsub.get_message(timeout=1)
    assert orjson.loads(published["data"])["price"] == 200.5  # ticks between flushes conflate
    feed = redis_client.hgetall(FEED_KEY)
    assert (feed["provider"], feed["connected"], feed["messages"], feed["ticks"], feed["dropped"]) == (
        "alpaca", "1", "2", "4", "0")
    assert float(feed["last_recv"]) == pytest.approx(aapl.recv)


def test_day_volume_restarts_on_a_new_new_york_day(redis_client):
    ingestor = make_ingestor(redis_client)
    evening = 1_790_020_000.0 + 5 * 3600  # 2026-09-21 20:46 New York
    ingestor.on_frame(frame(trade("KO", 60.0, evening, 500), trade("KO", 60.1, evening + 60, 200)))
    assert ingestor.book["KO"][3] == 700
    ingestor.on_frame(frame(trade("KO", 60.2, evening + 6 * 3600, 30)))  # past midnight in New York
    assert ingestor.book["KO"][3] == 30


def test_snapshot_grid_one_second_for_active_fifteen_for_the_rest(redis_client):
    ingestor = make_ingestor(redis_client, active={"AAPL"})
    ticks = []
    for n in range(40):  # 10 s of trades, four a second, for two symbols
        ticks += [trade("AAPL", 100 + n, T0 + n / 4), trade("KO", 50 + n, T0 + n / 4 + 0.01)]
    ingestor.on_frame(frame(*ticks))
    ingestor.on_frame(frame(trade("AAPL", 999, T0 + 30.5), trade("KO", 999, T0 + 30.6)))
    rows = ingestor.grid.take()
    aapl = [(ts, price) for symbol, ts, price, *_ in rows if symbol == "AAPL"]
    assert [ts - T0 for ts, _ in aapl] == [float(s) for s in range(1, 20)]  # fresh for 10 s after the last tick
    assert aapl[0][1] == 104  # the last price traded at or before the instant (T0 + 1.0)
    ko = [ts - T0 for symbol, ts, *_ in rows if symbol == "KO"]
    assert ko == [float(s) for s in range(15 - int(T0) % 15, 20, 15)]


def test_snapshots_are_written_once_set_based(redis_client, db, django_assert_num_queries):
    ingestor = make_ingestor(redis_client, active={"AAPL"})
    ingestor.on_frame(frame(*[trade("AAPL", 100 + n, T0 + n / 2) for n in range(10)]))
    rows = ingestor.grid.take()
    ingestor.grid.rows = list(rows)
    with django_assert_num_queries(1):
        ingestor.flush_db()
    ingestor.grid.rows = list(rows)  # a backfill overlapping live snapshots adds nothing twice
    ingestor.flush_db()
    stored = list(PriceSnapshot.objects.filter(symbol="AAPL").values_list("price", flat=True))
    assert len(stored) == len(rows) == 4 and [float(p) for p in stored] == [102, 104, 106, 108]  # at or before


def test_trades_feed_the_candle_builder(redis_client, demo_stocks):
    from apps.market.candles import CandleBuilder
    from apps.market.models import Candle

    ingestor = make_ingestor(redis_client, candles=CandleBuilder())
    minute = T0 - T0 % 60
    ingestor.on_frame(frame(trade("AAPL", 10.0, minute + 1, 5), trade("AAPL", 12.0, minute + 20, 1),
                            trade("AAPL", 9.0, minute + 40, 2), trade("AAPL", 11.0, minute + 59, 3),
                            quote("AAPL", 10.9, 11.1, minute + 59.5)))
    ingestor.flush_db()
    candle = Candle.objects.get(stock__symbol="AAPL", interval="1m")
    assert (float(candle.open), float(candle.high), float(candle.low), float(candle.close), candle.volume) == (
        10.0, 12.0, 9.0, 11.0, 11)


def test_silent_symbols_are_marked_stale_until_their_next_quote(redis_client):
    ingestor = make_ingestor(redis_client)
    ingestor.on_frame(frame(trade("AAPL", 1.0, T0), trade("KO", 2.0, T0)))
    ingestor.flush_redis()
    ingestor.book["KO"][5] -= 60  # KO last heard of a minute ago
    assert ingestor.mark_stale(ingestor.book["AAPL"][5] + 1, stale_after=10) == ["KO"]
    assert redis_client.hget("quote:KO", "stale") == "1"
    ingestor.on_frame(frame(trade("KO", 2.5, T0 + 1)))
    ingestor.flush_redis()
    assert redis_client.hget("quote:KO", "stale") == "0"


def test_gaps_overlapping_a_window(db):
    from datetime import datetime, timezone

    dt = lambda s: datetime.fromtimestamp(T0 + s, tz=timezone.utc)  # noqa: E731
    whole = datagap_record(start=T0 + 100, end=T0 + 160, reason="disconnect", provider="simulator", backfilled=True)
    only_ko = datagap_record(start=T0 + 300, end=T0 + 310, reason="silence", provider="simulator", symbols=["KO"])
    assert list(gaps_overlapping(dt(0), dt(99))) == []
    assert list(gaps_overlapping(dt(150), dt(400))) == [whole, only_ko]
    assert list(gaps_overlapping(dt(150), dt(400), symbols=["AAPL"])) == [whole]
    assert list(gaps_overlapping(dt(305), dt(305), symbols=["KO", "PEP"])) == [only_ko]
    assert DataGap.objects.filter(backfilled=False).get() == only_ko


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    import random

    rng = random.Random(1)
    delays = [[backoff_delay(a, rng) for _ in range(50)] for a in range(10)]
    for attempt, samples in enumerate(delays):
        ceiling = min(BACKOFF_CAP_SECONDS, 0.5 * 2 ** attempt)
        assert all(ceiling / 2 <= d <= ceiling for d in samples)
        assert len(set(samples)) > 40  # jittered: reconnecting workers do not stampede together


# ----------------------------------------------------------------------------- fuzz
GOOD_ALPACA = frame(trade("AAPL", 101.25, T0, 10), quote("AAPL", 101.2, 101.3, T0 + 1))
GOOD_FINNHUB = orjson.dumps({"type": "trade", "data": [{"s": "AAPL", "p": 101.25, "t": 1790000000000, "v": 10}]})
def dumps(value) -> bytes:
    """The standard library writes what orjson refuses (huge integers, NaN): good fuzz."""
    return json.dumps(value).encode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=3), children, max_size=4),
    max_leaves=12)
alpaca_like = st.lists(st.dictionaries(
    st.sampled_from(["T", "S", "p", "s", "t", "bp", "ap", "x", "c"]),
    st.sampled_from(["t", "q", "b", "error", "AAPL", "", "2021-02-22T15:51:44Z", "2021-02-22T15:51:44.5+01:00"])
    | st.integers(-5, 10**12) | st.floats() | st.none() | st.lists(st.integers(), max_size=2), max_size=8), max_size=5)
raw_inputs = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200),
    st.integers(0, len(GOOD_ALPACA)).map(lambda n: GOOD_ALPACA[:n]),
    st.integers(0, len(GOOD_FINNHUB)).map(lambda n: GOOD_FINNHUB[:n]),
    json_values.map(dumps),
    alpaca_like.map(dumps),
    st.builds(lambda d: dumps({"type": "trade", "data": d}), st.lists(json_values, max_size=4)),
)


@pytest.mark.parametrize("provider", [AlpacaProvider(), FinnhubProvider()], ids=["alpaca", "finnhub"])
@given(raw=raw_inputs)
@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzzed_frames_never_crash_a_normaliser_or_the_worker(redis_client, provider, raw):
    ingestor = make_ingestor(redis_client, provider=provider)
    ticks = ingestor.on_frame(raw)
    assert ingestor.messages == 1
    for tick in ticks:  # whatever gets through is a well-formed tick
        assert isinstance(tick, Tick) and isinstance(tick.symbol, str) and tick.symbol
        assert 0 < tick.price < 1e12 and tick.size >= 0 and isinstance(tick.ts, float)
    if not ticks and raw not in (b"", ""):
        decoded_ok = True
        try:
            provider.decode(raw)
        except Exception:
            decoded_ok = False
        assert decoded_ok or ingestor.dropped >= 1  # every unreadable frame is counted
    ingestor.flush_redis()


def test_truncations_of_a_good_frame_are_counted_as_drops(redis_client):
    ingestor = make_ingestor(redis_client)
    for n in range(1, len(GOOD_ALPACA)):
        ingestor.on_frame(GOOD_ALPACA[:n])
    assert ingestor.dropped == len(GOOD_ALPACA) - 1 and ingestor.ticks == 0
    ingestor.on_frame(GOOD_ALPACA)
    assert ingestor.ticks == 2


def test_a_restarted_worker_resumes_day_volume_and_backfills_its_own_downtime(redis_client):
    import threading
    import time

    from apps.feed.worker import FeedWorker

    last_tick = time.time() - 60  # the previous run stopped a minute ago
    before = make_ingestor(redis_client)
    before.on_frame(frame(trade("SIM001", 10.0, last_tick, 700)))
    before.flush_redis()
    worker = FeedWorker(provider=AlpacaProvider(), redis=redis_client, stopping=threading.Event())
    worker.resume(["SIM001", "SIM002"])
    assert worker.ingestor.book["SIM001"][:4] == [10.0, None, None, 700]
    assert "SIM002" not in worker.ingestor.book
    assert worker.gap_from == pytest.approx(last_tick, abs=1e-5)  # the first tick of this run will close (and backfill) the gap


def test_a_failed_redis_write_keeps_the_changes_for_the_next_flush(redis_client, monkeypatch):
    import redis

    ingestor = make_ingestor(redis_client)
    ingestor.on_frame(frame(trade("SIM001", 5.0, T0)))

    def broken(self, *args, **kwargs):
        raise redis.ConnectionError("Redis is restarting")

    with monkeypatch.context() as patch:
        patch.setattr(redis.client.Pipeline, "execute", broken)
        with pytest.raises(redis.ConnectionError):
            ingestor.flush_redis()
    assert ingestor.dirty == {"SIM001"}
    ingestor.flush_redis()
    assert read_quotes(redis_client, ["SIM001"])["SIM001"].price == 5.0
