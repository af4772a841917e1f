"""Race creation: durations, the New York session for full-day races, themes, the sweep."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from apps.races import sweep
from apps.races.models import Race
from apps.races.services import RaceError, race_create, race_create_themed, race_window
from tests.support import factories as f

pytestmark = pytest.mark.django_db
UTC = timezone.utc


def test_full_day_race_follows_the_new_york_session():
    monday_early = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # 07:00 in New York, a trading day
    assert race_window(duration="1d", starts_at=monday_early) == (
        datetime(2026, 11, 23, 14, 30, tzinfo=UTC), datetime(2026, 11, 23, 21, 0, tzinfo=UTC))
    black_friday = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # early close at 13:00
    assert race_window(duration="1d", starts_at=black_friday)[1] == datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    saturday = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
    assert race_window(duration="1d", starts_at=saturday) == (saturday, saturday + timedelta(hours=6, minutes=30))
    assert race_window(duration="1d", starts_at=saturday, session_aligned=True)[0] == datetime(
        2026, 11, 23, 14, 30, tzinfo=UTC)
    assert race_window(duration="1d", starts_at=monday_early, session_aligned=False) == (
        monday_early, monday_early + timedelta(hours=6, minutes=30))
    assert race_window(duration="5m", starts_at=saturday) == (saturday, saturday + timedelta(minutes=5))


def test_race_create_validates():
    [f.StockFactory(symbol=s) for s in ("AAA", "BBB", "CCC", "DDD", "EEE")]
    start = datetime(2030, 1, 2, 15, tzinfo=UTC)
    with pytest.raises(RaceError, match="3 to 8"):
        race_create(title="x", duration="5m", symbols=["AAA", "BBB"], starts_at=start)
    with pytest.raises(RaceError, match="Unknown or inactive"):
        race_create(title="x", duration="5m", symbols=["AAA", "BBB", "ZZZ"], starts_at=start)
    with pytest.raises(RaceError, match="Unknown duration"):
        race_create(title="x", duration="2h", symbols=["AAA", "BBB", "CCC"], starts_at=start)
    race = race_create(title="x", duration="15m", symbols=["aaa", "BBB", "CCC"], starts_at=start,
                       betting_window=timedelta(minutes=2))
    assert race.betting_opens_at == start - timedelta(minutes=2) and race.ends_at == start + timedelta(minutes=15)
    assert list(race.entries.values_list("stock__symbol", flat=True)) == ["AAA", "BBB", "CCC"]


def test_themes_pick_the_stocks():
    [f.StockFactory(symbol=s, sector="Technology") for s in ["T1", "T2", "T3", "T4"]]
    [f.StockFactory(symbol=s, sector="Energy") for s in ["E1", "E2", "E3"]]
    f.write_quotes({s: 10.0 for s in ["T1", "T2", "T3", "T4", "E1", "E2", "E3"]})  # themes race quoted stocks only
    start = datetime(2030, 1, 2, 15, tzinfo=UTC)
    tech = race_create_themed(theme="tech", duration="5m", starts_at=start, stock_count=4, rng=random.Random(1))
    assert {e.stock.sector for e in tech.entries.select_related("stock")} == {"Technology"}
    energy = race_create_themed(theme="sector:Energy", duration="5m", starts_at=start, stock_count=5)
    assert energy.entries.count() == 3 and energy.title.startswith("Energy")
    custom = race_create_themed(theme="custom", duration="5m", starts_at=start, picks=["T1", "E1", "T2"])
    assert custom.theme == "custom" and custom.entries.count() == 3
    with pytest.raises(RaceError):
        race_create_themed(theme="sector:Nothing", duration="5m", starts_at=start)


def test_sweep_makes_due_transitions():
    race = f.RaceFactory(state=Race.State.SCHEDULED)
    Race.objects.filter(pk=race.pk).update(betting_opens_at=race.betting_opens_at - timedelta(hours=1))
    assert sweep.races_sweep()["advanced"] == 1
    race.refresh_from_db()
    assert race.state == Race.State.OPEN
    assert sweep.races_sweep()["advanced"] == 0


def test_top_gainers_yesterday_come_from_the_daily_candles():
    from apps.core.redis import redis_now
    from apps.market.models import Candle

    stocks = {s.symbol: s for s in [f.StockFactory(symbol=s) for s in ["G1", "G2", "G3", "G4", "G5"]]}
    today = redis_now().replace(hour=5, minute=0, second=0, microsecond=0)
    changes = {"G1": 1.0, "G2": 5.0, "G3": -2.0, "G4": 3.0, "G5": 4.0}
    for symbol, pct in changes.items():
        for days, close in ((3, 100.0), (2, 100.0 * (1 + pct / 100))):
            start = today - timedelta(days=days)
            Candle.objects.create(stock=stocks[symbol], interval="1d", start=start, open=100, high=110, low=90,
                                  close=close, volume=1, open_ts=start, close_ts=start)
    f.write_quotes({s: 100.0 for s in changes})
    race = race_create_themed(theme="top_gainers", duration="5m", starts_at=datetime(2030, 1, 2, tzinfo=UTC),
                              stock_count=3)
    assert list(race.entries.order_by("lane").values_list("stock__symbol", flat=True)) == ["G2", "G5", "G4"]
