"""Symbol sync: IPOs, renames, delistings and derived metadata, against a provider on fixed data."""
from __future__ import annotations

from datetime import date, datetime, timezone
from io import StringIO

import pytest
from django.core.management import call_command

from apps.providers.base import Bar, MarketDataProvider, ProviderError, SymbolInfo
from apps.market.candles import CandleBuilder
from apps.market.models import Candle, Stock, SymbolChange
from apps.market.selectors import stock_get, stock_list
from apps.market.symbol_sync import symbols_sync

pytestmark = pytest.mark.django_db


class FixedProvider(MarketDataProvider):
    """A provider's REST side on fixed data (a test double of an external API)."""

    name = "fixed"

    def __init__(self, symbols: list[SymbolInfo], bars: dict[str, list[Bar]] | None = None,
                 failing: set[str] = frozenset()):
        self.symbols, self.bars, self.failing = symbols, bars or {}, failing
        self.bar_calls: list[str] = []

    def ws_url(self) -> str:
        return "ws://unused"

    def ws_headers(self) -> list[str]:
        return []

    def on_open_messages(self, symbols):
        return []

    def decode(self, raw):
        raise NotImplementedError("the stream side is not used by the symbol sync")

    def fetch_symbols(self) -> list[SymbolInfo]:
        return list(self.symbols)

    def fetch_bars(self, symbol, start, end, interval="1m"):
        self.bar_calls.append(symbol)
        if symbol in self.failing:
            raise ProviderError("HTTP 500")
        return [b for b in self.bars.get(symbol, []) if start <= b.start < end]


APPLE = SymbolInfo("AAPL", "Apple Inc.", sector="Technology", industry="Consumer Electronics",
                   exchange="NASDAQ", market_cap=3_400_000_000_000)
NVIDIA = SymbolInfo("NVDA", "NVIDIA Corporation", sector="Technology", industry="Semiconductors", exchange="NASDAQ")
EXXON = SymbolInfo("XOM", "Exxon Mobil Corporation", sector="Energy", industry="Oil & Gas Integrated")


def test_new_symbols_are_created_and_metadata_refreshed(make_stock):
    make_stock("AAPL", name="Apple", sector="Tech", market_cap=1)
    report = symbols_sync(provider=FixedProvider([APPLE, NVIDIA]), full=False)
    assert report.created == ["NVDA"] and report.updated == ["AAPL"]
    apple = Stock.objects.get(symbol="AAPL")
    assert (apple.name, apple.sector, apple.market_cap) == ("Apple Inc.", "Technology", 3_400_000_000_000)
    again = symbols_sync(provider=FixedProvider([APPLE, NVIDIA]), full=False)
    assert (again.created, again.updated) == ([], [])


def test_missing_metadata_never_wipes_what_we_know(make_stock):
    make_stock("NVDA", name="NVIDIA", sector="Technology", market_cap=42)
    symbols_sync(provider=FixedProvider([SymbolInfo("NVDA", "NVIDIA Corporation")]), full=False)
    nvda = Stock.objects.get(symbol="NVDA")
    assert (nvda.sector, nvda.market_cap) == ("Technology", 42)


def test_a_rename_keeps_the_stock_row_and_its_history(make_stock):
    facebook = make_stock("FB", name="Facebook Inc.", sector="Communication Services")
    builder = CandleBuilder()
    builder.add_trade("FB", datetime(2019, 2, 13, 15, 1, tzinfo=timezone.utc).timestamp(), 160.0, 10)
    builder.flush()
    renamed = SymbolInfo("META", "Meta Platforms Inc.", sector="Communication Services", previous_symbol="FB")
    report = symbols_sync(provider=FixedProvider([renamed]), full=True)
    assert report.renamed == [("FB", "META")] and "FB" not in report.delisted
    meta = Stock.objects.get(pk=facebook.pk)
    assert (meta.symbol, meta.name, meta.former_symbols, meta.is_active) == ("META", "Meta Platforms Inc.", "FB", True)
    assert Candle.objects.filter(stock=meta).count() == 7
    assert SymbolChange.objects.get().old_symbol == "FB"
    assert stock_get(symbol="fb") == meta  # the old ticker still finds it
    assert list(stock_list(search="FB")) == [meta]
    # The provider keeps reporting the rename: nothing happens twice.
    assert symbols_sync(provider=FixedProvider([renamed]), full=False).renamed == []


def test_delistings_mark_inactive_and_keep_history(make_stock):
    make_stock("AAPL")
    gone = make_stock("XOM", sector="Energy")
    mine = make_stock("ZZZZ", is_imported=True)
    Candle.objects.create(stock=gone, interval="1d", start=datetime(2019, 2, 13, 14, 30, tzinfo=timezone.utc),
                          open=1, high=1, low=1, close=1, volume=1, open_ts=datetime(2019, 2, 13, 14, 30, tzinfo=timezone.utc),
                          close_ts=datetime(2019, 2, 13, 14, 30, tzinfo=timezone.utc))
    # An incremental sync does not delist by absence ...
    assert symbols_sync(provider=FixedProvider([APPLE]), full=False).delisted == []
    # ... a full one does, but never a symbol we imported ourselves.
    report = symbols_sync(provider=FixedProvider([APPLE]), full=True)
    assert report.delisted == ["XOM"]
    gone.refresh_from_db()
    mine.refresh_from_db()
    assert not gone.is_active and gone.delisted_at is not None and gone.candles.count() == 1
    assert mine.is_active
    # An explicit delisting works in either mode, and a relisting reactivates.
    symbols_sync(provider=FixedProvider([SymbolInfo("AAPL", "Apple Inc.", status="delisted")]), full=False)
    assert not Stock.objects.get(symbol="AAPL").is_active
    assert symbols_sync(provider=FixedProvider([APPLE]), full=False).relisted == ["AAPL"]


def test_an_ipo_gets_its_date_and_a_provider_listing_clears_the_imported_flag(make_stock):
    make_stock("ARM", is_imported=True)
    ipo = SymbolInfo("ARM", "Arm Holdings plc", sector="Technology", industry="Semiconductors", ipo_date=date(2023, 9, 14))
    symbols_sync(provider=FixedProvider([ipo]), full=False)
    arm = Stock.objects.get(symbol="ARM")
    assert (arm.ipo_date, arm.is_imported, arm.name) == (date(2023, 9, 14), False, "Arm Holdings plc")


def daily_bar(symbol: str, day: date, low: float, high: float, volume: int) -> Bar:
    # Providers stamp daily bars at midnight New York (05:00 UTC in winter).
    start = datetime(day.year, day.month, day.day, 5, tzinfo=timezone.utc).timestamp()
    return Bar(symbol, start, open=low, high=high, low=low, close=high, volume=volume)


def test_full_sync_loads_missing_history_and_derives_the_52_week_range(make_stock, monkeypatch):
    import apps.market.symbol_sync as sync

    monkeypatch.setattr(sync.time, "time", lambda: datetime(2019, 3, 1, tzinfo=timezone.utc).timestamp())
    bars = [daily_bar("NVDA", date(2019, 2, d), 100 + d, 110 + d, 1000 * d) for d in (11, 12, 13, 14, 15)]
    bars.append(daily_bar("NVDA", date(2019, 2, 16), 1, 999, 1))  # a Saturday: not a session, dropped
    provider = FixedProvider([NVIDIA, EXXON], bars={"NVDA": bars}, failing={"XOM"})
    report = symbols_sync(provider=provider, full=True)
    assert report.history_loaded == ["NVDA"] and report.history_failed == ["XOM"]
    nvda = Stock.objects.get(symbol="NVDA")
    assert (float(nvda.week52_low), float(nvda.week52_high), nvda.avg_volume) == (111.0, 125.0, 13000)
    assert Candle.objects.filter(stock=nvda, interval="1d").count() == 5
    assert Candle.objects.filter(stock=nvda, interval="1w").count() == 1
    # History is loaded once: the next full sync does not ask again.
    provider.bar_calls.clear()
    symbols_sync(provider=provider, full=True)
    assert provider.bar_calls == ["XOM"]


@pytest.mark.parametrize("text", ["apple", "AAPL", "aap", "semiconductor", "Technology", "tech"])
def test_search_finds_by_symbol_name_sector_and_industry(make_stock, text):
    symbols_sync(provider=FixedProvider([APPLE, NVIDIA, EXXON]), full=False)
    found = [s.symbol for s in stock_list(search=text)]
    expected = {"apple": ["AAPL"], "AAPL": ["AAPL"], "aap": ["AAPL"], "semiconductor": ["NVDA"],
                "Technology": ["AAPL", "NVDA"], "tech": ["AAPL", "NVDA"]}[text]
    assert sorted(found) == expected


def test_search_ranks_the_exact_ticker_first_and_ignores_punctuation(make_stock):
    make_stock("AMD", name="Advanced Micro Devices")
    make_stock("AMDX", name="AMD Something Else")
    assert [s.symbol for s in stock_list(search="amd")] == ["AMD", "AMDX"]
    assert list(stock_list(search="'&|!():*")) == []


def test_command_and_task_use_the_configured_provider(make_stock, monkeypatch):
    import apps.providers as providers
    from apps.market.tasks import sync_symbols

    monkeypatch.setattr(providers, "get_provider", lambda name=None: FixedProvider([APPLE]))
    out = StringIO()
    call_command("sync_symbols", stdout=out)
    assert "1 new" in out.getvalue()
    sync_symbols.delay(full=True)
    assert Stock.objects.get(symbol="AAPL").is_active


def test_beat_runs_a_full_sync_before_the_new_york_open_and_an_hourly_one(settings):
    from zoneinfo import ZoneInfo

    from django_celery_beat.models import CrontabSchedule

    full = settings.CELERY_BEAT_SCHEDULE["market-symbols-full"]
    hourly = settings.CELERY_BEAT_SCHEDULE["market-symbols-hourly"]
    assert (full["task"], full["kwargs"], hourly["kwargs"]) == ("market.sync_symbols", {"full": True}, {"full": False})
    schedule = full["schedule"]
    assert schedule.hour == {8} and schedule.minute == {0} and schedule.day_of_week == {1, 2, 3, 4, 5}
    # The database scheduler keeps the New York zone, so 08:00 stays 08:00 across DST changes.
    assert str(CrontabSchedule.from_schedule(schedule).timezone) == str(ZoneInfo("America/New_York"))
    assert hourly["schedule"].hour == set(range(24)) and hourly["schedule"].minute == {5}


def test_untidy_provider_entries_are_cleaned_not_fatal(make_stock):
    infos = [SymbolInfo(" brk.b ", "Berkshire"), SymbolInfo("", "nothing"), SymbolInfo("X" * 40, "too long a ticker"),
             SymbolInfo("BRK.B", "Berkshire Hathaway", sector="Financials"), SymbolInfo("LONG", "N" * 500, sector="S" * 99)]
    report = symbols_sync(provider=FixedProvider(infos), full=False)
    assert report.created == ["BRK.B", "LONG"]
    assert Stock.objects.get(symbol="BRK.B").name == "Berkshire Hathaway"  # the last entry for a symbol wins
    long = Stock.objects.get(symbol="LONG")
    assert (len(long.name), len(long.sector)) == (200, 64)


def test_command_reports_provider_failures_without_a_traceback(monkeypatch):
    import apps.providers as providers
    from django.core.management import CommandError

    class Down(FixedProvider):
        def fetch_symbols(self):
            raise ProviderError("GET /v2/assets: connection refused")

    monkeypatch.setattr(providers, "get_provider", lambda name=None: Down([]))
    with pytest.raises(CommandError, match="connection refused"):
        call_command("sync_symbols", stdout=StringIO())
    monkeypatch.undo()
    with pytest.raises(CommandError, match="unknown market-data provider"):
        call_command("sync_symbols", "--provider", "bogus", stdout=StringIO())
