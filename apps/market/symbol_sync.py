"""Symbol and metadata sync: the provider's list of symbols applied to our stock universe.

``symbols_sync(provider=..., full=...)`` is what ``manage.py sync_symbols`` and the Celery beat
tasks call. Both modes apply what the provider lists: new symbols (IPOs) become stocks, renames
(``SymbolInfo.previous_symbol``) update the symbol of the *same* stock row so its candles and
races stay attached (the old ticker is kept in ``former_symbols``, still searchable, and in a
``SymbolChange`` row), explicit delistings mark a stock inactive, and changed names, sectors and
market caps are written. A full sync also marks stocks the provider no longer lists as delisted
(never symbols we imported ourselves), loads a year of daily bars for stocks that have none,
and derives the 52-week high/low and average daily volume from the stored daily candles (the
providers' symbol lists carry neither).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone

from apps.providers.base import MarketDataProvider, SymbolInfo
from apps.market.candle_import import candles_rebuild_above, candles_upsert_bars
from apps.market.models import Candle, Stock, SymbolChange
from apps.market.sessions import session_table

log = logging.getLogger("stockrace.market.sync")

NEW_YORK = ZoneInfo("America/New_York")
METADATA_FIELDS = ("name", "sector", "industry", "exchange", "market_cap", "ipo_date")
HISTORY_DAYS = 370  # a little more than a year of daily bars for the 52-week range
HISTORY_SYMBOLS_PER_SYNC = 200  # bounds the REST calls one full sync makes for missing history
AVG_VOLUME_DAYS = 90  # average daily volume over about three months of sessions

DERIVE_METADATA_SQL = """
WITH latest AS (
    SELECT stock_id, max(start) AS last_start FROM market_candle
    WHERE interval = '1d' AND (%(ids)s::bigint[] IS NULL OR stock_id = ANY(%(ids)s::bigint[]))
    GROUP BY stock_id
), derived AS (
    SELECT c.stock_id, max(c.high) AS high, min(c.low) AS low,
           round(avg(c.volume) FILTER (WHERE c.start > l.last_start - make_interval(days => %(avg_days)s)))
               AS avg_volume
    FROM market_candle c JOIN latest l ON l.stock_id = c.stock_id
    WHERE c.interval = '1d' AND c.start > l.last_start - interval '52 weeks'
    GROUP BY c.stock_id
)
UPDATE market_stock s
SET week52_high = round(d.high::numeric, 4), week52_low = round(d.low::numeric, 4),
    avg_volume = d.avg_volume, updated_at = now()
FROM derived d
WHERE s.id = d.stock_id
  AND (s.week52_high, s.week52_low, s.avg_volume)
      IS DISTINCT FROM (round(d.high::numeric, 4), round(d.low::numeric, 4), d.avg_volume)
"""


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    delisted: list[str] = field(default_factory=list)
    relisted: list[str] = field(default_factory=list)
    history_loaded: list[str] = field(default_factory=list)
    history_failed: list[str] = field(default_factory=list)
    derived: int = 0

    def summary(self) -> str:
        return (f"{len(self.created)} new, {len(self.updated)} updated, {len(self.renamed)} renamed, "
                f"{len(self.delisted)} delisted, {len(self.relisted)} relisted, "
                f"history loaded for {len(self.history_loaded)} ({len(self.history_failed)} failed), "
                f"metadata derived for {self.derived}")


def symbols_sync(*, provider: MarketDataProvider, full: bool) -> SyncReport:
    """Apply the provider's symbol list (and, when ``full``, delist the missing and derive metadata)."""
    infos = _valid(provider.fetch_symbols())  # network first, outside any transaction
    report = SyncReport()
    with transaction.atomic():
        stocks = {s.symbol: s for s in Stock.objects.select_for_update().order_by("id")}
        for info in infos:
            if info.previous_symbol and info.previous_symbol in stocks:
                if info.symbol in stocks:
                    log.warning("symbol sync: %s renamed to %s, but %s is already a stock; left both alone",
                                info.previous_symbol, info.symbol, info.symbol)
                    continue
                _rename(stocks, info, report)
        new: list[Stock] = []
        for info in infos:
            _apply(stocks, info, report, new)
        # New listings in one statement (a real provider's first sync lists thousands).
        Stock.objects.bulk_create(new, batch_size=1000)
        if full:
            _delist_missing(stocks, {info.symbol for info in infos}, report)
    if full:
        _load_missing_history(provider, report)
        report.derived = stock_metadata_derive()
    log.info("symbol sync (%s): %s", "full" if full else "incremental", report.summary())
    return report


def stock_metadata_derive(*, stock_ids: list[int] | None = None) -> int:
    """52-week high/low (as of each stock's latest session) and average daily volume from the
    stored daily candles. Returns the number of stocks changed."""
    with connection.cursor() as cursor:
        cursor.execute(DERIVE_METADATA_SQL, {"ids": stock_ids, "avg_days": AVG_VOLUME_DAYS})
        return cursor.rowcount


def _valid(infos: list[SymbolInfo]) -> list[SymbolInfo]:
    """Usable entries, symbols upper-cased and text clipped to our column sizes."""
    seen: dict[str, SymbolInfo] = {}
    for info in infos:
        symbol = (info.symbol or "").strip().upper()
        if not symbol or len(symbol) > _max_length("symbol"):
            log.warning("symbol sync: ignoring an unusable symbol %r", info.symbol)
            continue
        previous = (info.previous_symbol or "").strip().upper() or None
        seen[symbol] = replace(  # a provider listing a symbol twice: the last entry wins
            info, symbol=symbol, previous_symbol=previous if previous != symbol else None,
            **{name: (getattr(info, name) or "").strip()[:_max_length(name)]
               for name in ("name", "sector", "industry", "exchange")})
    return list(seen.values())


def _max_length(field_name: str) -> int:
    return Stock._meta.get_field(field_name).max_length


def _rename(stocks: dict[str, Stock], info: SymbolInfo, report: SyncReport) -> None:
    stock = stocks.pop(info.previous_symbol)
    old = stock.symbol
    former = [s for s in stock.former_symbols.split() if s != info.symbol]
    stock.former_symbols = " ".join([*former, old])[:200]
    stock.symbol = info.symbol
    stock.save(update_fields=["symbol", "former_symbols", "updated_at"])
    SymbolChange.objects.create(stock=stock, old_symbol=old, new_symbol=info.symbol)
    stocks[info.symbol] = stock
    report.renamed.append((old, info.symbol))


def _apply(stocks: dict[str, Stock], info: SymbolInfo, report: SyncReport, new: list[Stock]) -> None:
    delisted = info.status == "delisted"
    stock = stocks.get(info.symbol)
    if stock is None:
        if delisted:
            return  # never listed here: nothing to keep
        stock = Stock(symbol=info.symbol, name=info.name or info.symbol, sector=info.sector, industry=info.industry,
                      exchange=info.exchange, market_cap=info.market_cap, ipo_date=info.ipo_date)
        stocks[info.symbol] = stock
        new.append(stock)
        report.created.append(info.symbol)
        return
    changed = []
    wanted = {"name": info.name, "sector": info.sector, "industry": info.industry, "exchange": info.exchange,
              "market_cap": info.market_cap, "ipo_date": info.ipo_date}
    for name in METADATA_FIELDS:
        value = wanted[name]
        # What the provider does not know never wipes what we know.
        if value not in (None, "") and getattr(stock, name) != value:
            setattr(stock, name, value)
            changed.append(name)
    if stock.is_imported:
        stock.is_imported = False  # the provider lists it now
        changed.append("is_imported")
    if delisted and stock.is_active:
        stock.is_active, stock.delisted_at = False, timezone.now()
        changed += ["is_active", "delisted_at"]
        report.delisted.append(stock.symbol)
    elif not delisted and not stock.is_active:
        stock.is_active, stock.delisted_at = True, None
        changed += ["is_active", "delisted_at"]
        report.relisted.append(stock.symbol)
    if changed:
        stock.save(update_fields=[*changed, "updated_at"])
        report.updated.append(stock.symbol)


def _delist_missing(stocks: dict[str, Stock], listed: set[str], report: SyncReport) -> None:
    missing = [s for symbol, s in stocks.items() if symbol not in listed and s.is_active and not s.is_imported]
    if missing:
        Stock.objects.filter(pk__in=[s.pk for s in missing]).update(
            is_active=False, delisted_at=timezone.now(), updated_at=timezone.now())
        report.delisted.extend(s.symbol for s in missing)


def _load_missing_history(provider: MarketDataProvider, report: SyncReport) -> None:
    """A year of daily bars for active stocks with no daily candle yet (new listings, mostly)."""
    have = Candle.objects.filter(interval="1d").values("stock_id").distinct()
    end = time.time()
    first_error = ""
    for stock in Stock.objects.filter(is_active=True).exclude(pk__in=have).order_by("symbol")[:HISTORY_SYMBOLS_PER_SYNC]:
        try:
            bars = provider.fetch_bars(stock.symbol, end - HISTORY_DAYS * 86400, end, "1d")
        except Exception as exc:  # one symbol's history must not stop the sync
            if not report.history_failed:
                first_error = f"{stock.symbol}: {exc}"
            report.history_failed.append(stock.symbol)
            continue
        by_session = _daily_bars_by_session(stock.symbol, bars)
        if not by_session:
            continue
        starts = sorted(by_session)
        with transaction.atomic():
            candles_upsert_bars(stock_id=stock.id, interval="1d", starts=starts, rows=[by_session[s] for s in starts])
            candles_rebuild_above(stock_id=stock.id, interval="1d", lo=starts[0], hi=starts[-1] + 1)
        report.history_loaded.append(stock.symbol)
    if report.history_failed:
        log.warning("symbol sync: the provider gave no daily history for %d stocks (first: %s)",
                    len(report.history_failed), first_error)


def _daily_bars_by_session(symbol: str, bars: list) -> dict[int, tuple]:
    """Provider daily bars (stamped at midnight or at the open, depending on the provider) keyed
    by our daily label, the session's open; bars on non-session days or impossible ones are dropped."""
    table = session_table()
    out = {}
    for bar in bars:
        if bar.symbol != symbol or not (0 < bar.low <= bar.high):
            continue
        index = table.index_of_date(datetime.fromtimestamp(bar.start, NEW_YORK).date())
        if index is not None:
            out[table.opens[index]] = (bar.open, bar.high, bar.low, bar.close, int(bar.volume))
    return out
