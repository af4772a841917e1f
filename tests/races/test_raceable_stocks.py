"""Only stocks the market-data feed carries are raced: the lobby generator and the themes leave
out symbols without a live quote (e.g. ones `import_bars` added), and no theme has an empty sector."""
from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest

from apps.core.redis import get_redis, redis_now_ts
from apps.market.models import Stock
from apps.market.quotes import Quote, write_quote
from apps.races import themes
from apps.races.generation import lobby_fill
from apps.races.models import Race, RaceEntry
from apps.races.services import RaceError, race_create_themed

pytestmark = pytest.mark.django_db
NO_FEED = ("GLD", "TZA", "XLP", "SLV")


def quote(symbols, *, age: float = 0.0) -> None:
    client = get_redis()
    now = redis_now_ts(client) - age
    pipe = client.pipeline()
    for symbol in symbols:
        write_quote(pipe, Quote(symbol=symbol, price=50.0, bid=None, ask=None, volume=1, ts=now, recv=now))
    pipe.execute()


@pytest.fixture
def universe(db):
    from apps.market.services import stock_upsert_demo_universe

    stock_upsert_demo_universe()
    quote(Stock.objects.values_list("symbol", flat=True))
    # What import_bars leaves behind for symbols the provider does not list: no sector, no quote.
    for symbol in NO_FEED:
        Stock.objects.create(symbol=symbol, name=symbol, sector="", is_imported=True)


def test_the_lobby_never_races_a_stock_without_a_quote(universe, settings):
    settings.RACE_LOBBY_TARGET = 12
    created = lobby_fill(rng=random.Random(3))
    assert len(created) == 12
    raced = set(RaceEntry.objects.values_list("stock__symbol", flat=True))
    assert raced and not raced & set(NO_FEED)
    assert all(r.theme != themes.SECTOR_PREFIX and not r.title.rstrip().endswith("·") for r in created)
    assert "" not in themes.sectors()


def test_a_quote_older_than_the_horizon_does_not_count(universe):
    quote(["GLD"], age=themes.QUOTE_MAX_AGE_SECONDS + 60)
    quote(["TZA"], age=60)
    assert themes.quoted_symbols(["AAPL", "GLD", "TZA", "XLP"]) == {"AAPL", "TZA"}
    assert themes.unquoted_symbols(["XLP", "AAPL", "GLD"]) == ["GLD", "XLP"]


def test_themes_pick_only_quoted_stocks_and_refuse_custom_picks_without_a_feed(universe):
    get_redis().delete("quote:MSFT")
    start = datetime(2030, 1, 2, 15, tzinfo=timezone.utc)
    for seed in range(10):
        race = race_create_themed(theme="tech", duration="5m", starts_at=start, stock_count=8,
                                  rng=random.Random(seed))
        assert "MSFT" not in set(race.entries.values_list("stock__symbol", flat=True))
    with pytest.raises(RaceError, match="GLD, SLV have no live quote"):
        race_create_themed(theme="custom", duration="5m", starts_at=start, picks=["AAPL", "GLD", "SLV"])
    with pytest.raises(RaceError, match="Unknown theme"):
        race_create_themed(theme="sector:", duration="5m", starts_at=start)
    assert not Race.objects.filter(theme__in=["custom", "sector:"]).exists()
