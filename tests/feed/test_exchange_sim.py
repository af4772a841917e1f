"""The exchange simulator's price model: reproducible, exciting, and able to serve its own
history exactly (also across restarts); the replay's ticks stay inside each real bar."""
from __future__ import annotations

import math
import random
import statistics
from pathlib import Path

import pytest
from django.conf import settings
from hypothesis import given, settings as hsettings, strategies as st

from apps.feed.exchange_sim.history import GbmEngine
from apps.feed.exchange_sim.model import GbmModel, intraday_multiplier
from apps.feed.exchange_sim.replay import ReplayEngine, bar_ticks, read_bars, split_volume
from apps.feed.exchange_sim.universe import load_listings

T0 = 1_790_000_000.0  # a fixed instant keeps every run identical


def engine(tmp_path: Path | None, *, seed=7, symbols=8, now=T0, tps=4.0, volatility=1.0) -> GbmEngine:
    listings = load_listings(symbols, seed, use_database=False)
    model = GbmModel(listings, seed=seed, ticks_per_second=tps, volatility=volatility)
    return GbmEngine(model, state_dir=tmp_path, now=now)


def test_same_seed_same_prices_other_seed_other_prices():
    a = engine(None).advance_to(T0 + 30)
    b = engine(None).advance_to(T0 + 30)
    c = engine(None, seed=8).advance_to(T0 + 30)
    assert a == b
    assert [e[2] for e in a] != [e[2] for e in c]


def test_every_symbol_trades_every_step_with_a_spread_around_the_price():
    events = engine(None, symbols=5).advance_to(T0 + 10)
    assert len(events) == 10 * 4 * 5
    assert [e[0] for e in events] == sorted(e[0] for e in events)
    for _ts, _i, price, size, bid, ask in events:
        assert bid < ask and bid <= price <= ask and size >= 1


def test_history_regenerates_exactly_what_was_streamed():
    live = engine(None)
    streamed = live.advance_to(T0 + 400)  # spans several minute checkpoints
    wanted = {1, 3}
    history = live.history(wanted, T0 + 100.1, T0 + 350)
    assert history == [e for e in streamed if e[1] in wanted and T0 + 100.1 <= e[0] < T0 + 350]
    assert live.history({1}, T0 + 390, T0 + 10_000)[-1][0] <= T0 + 400  # never the future


def test_a_restart_continues_the_path_and_serves_its_downtime(tmp_path):
    first = engine(tmp_path)
    streamed = first.advance_to(T0 + 200)
    # The process dies; a new one starts 90 s later from the checkpoint file.
    second = engine(tmp_path, now=T0 + 290)
    assert second.caught_up_steps > 0
    downtime = second.history({0, 1, 2}, T0 + 200, T0 + 290)
    assert downtime and all(T0 + 200 <= e[0] < T0 + 290 for e in downtime)
    # What the first process streamed is served unchanged by the second.
    assert second.history({0}, T0 + 100, T0 + 200) == [e for e in streamed if e[1] == 0 and e[0] >= T0 + 100]
    # ...and the live path goes on from the downtime's last prices, as one uninterrupted run would.
    uninterrupted = engine(None).advance_to(T0 + 320)
    assert second.advance_to(T0 + 320) == [e for e in uninterrupted if e[0] > T0 + 290]


def test_a_restart_after_a_long_pause_starts_a_new_segment(tmp_path):
    engine(tmp_path).advance_to(T0 + 100)
    later = engine(tmp_path, now=T0 + 5 * 3600)
    assert later.caught_up_steps == 0
    assert later.history({0}, T0 + 3 * 3600, T0 + 4 * 3600) == []  # nothing invented for the pause
    assert later.history({0}, T0 + 10, T0 + 20)  # the old segment is still served
    assert later.advance_to(T0 + 5 * 3600 + 5)


def test_races_are_exciting_a_five_minute_race_moves_and_reorders_stocks():
    live = engine(None, symbols=48)
    events = live.advance_to(T0 + 300)
    first = {e[1]: e[2] for e in events[:48]}
    last = {e[1]: e[2] for e in events[-48:]}
    moves = [last[i] / first[i] - 1 for i in range(48)]
    assert 0.003 < statistics.pstdev(moves) < 0.05  # about 1 %: visible in a sprint, not absurd
    # Positions among a 5-stock race change: compare the ranking by return at 1 and 5 minutes.
    mid = {e[1]: e[2] for e in events if e[0] < T0 + 60}
    rank = lambda prices: sorted(range(5), key=lambda i: prices[i] / first[i])  # noqa: E731
    assert rank(mid) != rank(last)


def test_sector_moves_are_correlated():
    listings = load_listings(48, 1, use_database=False)[::2]  # 24 stocks, two or more per sector
    live = GbmEngine(GbmModel(listings, seed=1, ticks_per_second=1.0), state_dir=None, now=T0)
    events = live.advance_to(T0 + 1500)
    series: dict[int, list[float]] = {}
    for _ts, i, price, *_ in events:
        series.setdefault(i, []).append(math.log(price))
    returns = {i: [b - a for a, b in zip(s, s[1:])] for i, s in series.items()}
    same, other = [], []
    for i in range(len(listings)):
        for j in range(i + 1, len(listings)):
            corr = statistics.correlation(returns[i], returns[j])
            (same if listings[i].sector == listings[j].sector else other).append(corr)
    assert statistics.mean(same) > statistics.mean(other) > 0.05  # market factor: everything co-moves a bit


def test_intraday_volatility_is_u_shaped():
    # 09:30, 12:45 and 15:59 New York time on a winter day (UTC-5).
    open_, midday, close = (1_705_000_000 // 86400 * 86400 + h * 3600 + m * 60 for h, m in
                            ((14, 30), (17, 45), (20, 59)))
    assert intraday_multiplier(open_) > 2 * intraday_multiplier(midday)
    assert intraday_multiplier(close) > 2 * intraday_multiplier(midday)


# ----------------------------------------------------------------------------- replay
bars = st.tuples(st.floats(1, 1000), st.floats(0, 0.2), st.floats(0, 1), st.floats(0, 1)).map(
    lambda t: (round(t[0], 4), round(t[0] * (1 + t[1]), 4), t[2], t[3]))


@given(bar=bars, n=st.integers(2, 300), seed=st.integers(0, 2**32))
@hsettings(max_examples=200, deadline=None)
def test_replay_ticks_stay_in_the_bar_and_start_on_open_end_on_close(bar, n, seed):
    low, high, f_open, f_close = bar
    open_ = round(low + (high - low) * f_open, 4)
    close = round(low + (high - low) * f_close, 4)
    ticks = bar_ticks(open_, high, low, close, n, random.Random(seed))
    assert len(ticks) == n
    assert ticks[0] == open_ and ticks[-1] == close
    assert all(low <= p <= high for p in ticks)
    if n >= 4:
        assert high in ticks and low in ticks


@given(volume=st.integers(0, 10**9), n=st.integers(1, 500), seed=st.integers(0, 1000))
@hsettings(max_examples=100, deadline=None)
def test_replay_volume_splits_exactly(volume, n, seed):
    parts = split_volume(volume, n, random.Random(seed))
    assert sum(parts) == volume and all(p >= 0 for p in parts)


DATA = Path(settings.BASE_DIR).parent / "shared" / "data" / "market" / "intraday_1min"
needs_data = pytest.mark.skipif(not (DATA / "AAPL_1min.csv").exists(), reason=f"real bars not found in {DATA}")


@needs_data
def test_real_bars_are_read_oldest_first_keyed_by_their_start():
    aapl = read_bars(DATA / "AAPL_1min.csv")
    assert aapl[0].start == 1549895400.0  # labelled 2019-02-11 09:31 New York = starts 14:30 UTC
    assert aapl[-1].close == 170.38 and aapl[-1].start == 1550264340.0  # 15:59 New York on Feb 15
    assert all(a.start < b.start for a, b in zip(aapl, aapl[1:]))


@needs_data
def test_replay_at_60x_plays_each_real_bar_in_one_second(tmp_path):
    replay = ReplayEngine(DATA, seed=3, speed=60, ticks_per_second=4, state_dir=tmp_path, now=T0)
    events = replay.advance_to(T0 + 3)
    aapl = replay.listings.index(next(x for x in replay.listings if x.symbol == "AAPL"))
    first_bars = read_bars(DATA / "AAPL_1min.csv")[:3]
    for j, bar in enumerate(first_bars):
        prices = [e[2] for e in events if e[1] == aapl and T0 + j <= e[0] < T0 + j + 1]
        assert prices[0] == bar.open and prices[-1] == bar.close and len(prices) == 4
        assert all(bar.low <= p <= bar.high for p in prices)
    # History is the same ticks again, and a restart keeps the anchor (the replay goes on).
    assert replay.history({aapl}, T0, T0 + 3) == [e for e in events if e[1] == aapl]
    again = ReplayEngine(DATA, seed=3, speed=60, ticks_per_second=4, state_dir=tmp_path, now=T0 + 10)
    assert again.anchor == T0
