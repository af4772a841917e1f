"""The stock portal pages: the searchable list, one stock, the watchlist."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.http import Http404

from apps.core.redis import get_redis
from apps.market import selectors as market_selectors
from apps.market.models import Candle, Stock
from apps.market.quotes import Quote, read_quotes
from apps.races.models import Race
from apps.web.models import Watchlist

PERFORMANCE = {"": "Any performance", "gainers": "Gainers", "losers": "Losers", "movers": "Big movers (±2%)"}
ORDERINGS = {"symbol": "Symbol", "-change": "Best today", "change": "Worst today", "-cap": "Market cap",
             "-volume": "Average volume"}
BIG_MOVE_PCT = 2.0
LIST_LIMIT = 200


@dataclass
class StockRow:
    stock: Stock
    quote: Quote | None
    change_pct: float | None  # vs. the last known close (Stock.reference_price)
    watched: bool = False


def _change(stock: Stock, quote: Quote | None) -> float | None:
    if quote is None or not stock.reference_price:
        return None
    ref = float(stock.reference_price)
    return (quote.price - ref) / ref * 100


def stock_rows(stocks: list[Stock], *, user=None) -> list[StockRow]:
    """Stocks with their live quotes (one Redis round trip) and the player's watch flags (one query)."""
    quotes = read_quotes(get_redis(), [s.symbol for s in stocks]) if stocks else {}
    watched = set()
    if user is not None and user.is_authenticated and stocks:
        watched = set(Watchlist.objects.filter(user=user, stock__in=stocks).values_list("stock_id", flat=True))
    return [StockRow(s, quotes.get(s.symbol), _change(s, quotes.get(s.symbol)), s.pk in watched) for s in stocks]


def stock_search(*, q: str = "", sector: str = "", performance: str = "", ordering: str = "symbol",
                 user=None) -> list[StockRow]:
    """Active stocks matching the market app's search (symbol, name, sector), a sector and a performance filter."""
    db_ordering = {"-cap": "-market_cap"}.get(ordering, "" if q else "symbol")
    qs = market_selectors.stock_list(search=q, sector=sector, ordering=db_ordering)
    rows = stock_rows(list(qs[:LIST_LIMIT]), user=user)
    if performance == "gainers":
        rows = [r for r in rows if r.change_pct is not None and r.change_pct > 0]
    elif performance == "losers":
        rows = [r for r in rows if r.change_pct is not None and r.change_pct < 0]
    elif performance == "movers":
        rows = [r for r in rows if r.change_pct is not None and abs(r.change_pct) >= BIG_MOVE_PCT]
    keys = {
        "-change": lambda r: -(r.change_pct if r.change_pct is not None else -1e9),
        "change": lambda r: r.change_pct if r.change_pct is not None else 1e9,
        "-volume": lambda r: -(r.stock.avg_volume or 0),
    }
    if ordering in keys:
        rows.sort(key=keys[ordering])
    return rows


def stock_sectors() -> list[str]:
    return market_selectors.sectors()


def stock_get(*, symbol: str) -> Stock:
    """A stock by its ticker (or a ticker it had before a rename), or 404."""
    stock = market_selectors.stock_get(symbol=symbol)
    if stock is None:
        raise Http404(f"No stock {symbol}.")
    return stock


# How far back the chart looks at each timeframe (seconds; static/js/stock_chart.js reads them from
# the page): intraday ones enough bars to read, the daily and longer ones the whole history.
YEARS_50 = 50 * 365 * 86400
CHART_LOOKBACK = {"1m": 6 * 3600, "5m": 2 * 86400, "15m": 6 * 86400, "1h": 30 * 86400,
                  "1d": YEARS_50, "1w": YEARS_50, "1M": YEARS_50}
# The chart opens on the coarsest of these with enough candles in its window to read...
OPENING_INTERVALS = ("1d", "1h", "15m", "5m", "1m")
OPENING_MIN_CANDLES = 20


def stock_default_interval(*, stock: Stock, now: datetime | None = None) -> str:
    """The timeframe the chart opens on: the coarsest with at least OPENING_MIN_CANDLES candles in
    its window, else the one with the most (a fresh install has a few minutes of 1m candles and
    one giant daily candle), else 15m (one query)."""
    from django.db.models import Count, Q
    from django.utils import timezone

    now = now or timezone.now()
    windows = Q()
    for interval in OPENING_INTERVALS:
        windows |= Q(interval=interval, start__gte=now - timedelta(seconds=CHART_LOOKBACK[interval]))
    counts = dict(Candle.objects.filter(windows, stock=stock).order_by().values_list("interval")
                  .annotate(n=Count("id")))
    for interval in OPENING_INTERVALS:
        if counts.get(interval, 0) >= OPENING_MIN_CANDLES:
            return interval
    if counts:
        return max(OPENING_INTERVALS, key=lambda i: (counts.get(i, 0), -OPENING_INTERVALS.index(i)))
    return "15m"


def stock_upcoming_races(*, stock: Stock, limit: int = 6) -> list[Race]:
    """Races with this stock that a player can still bet on or watch."""
    live = [Race.State.SCHEDULED, Race.State.OPEN, Race.State.RUNNING]
    return list(Race.objects.filter(entries__stock=stock, state__in=live).order_by("starts_at")[:limit])


def watched_symbols(*, user) -> set[str]:
    """The player's watched tickers (one query; empty for visitors), to mark them in race lists."""
    if not user.is_authenticated:
        return set()
    return set(Watchlist.objects.filter(user=user).values_list("stock__symbol", flat=True))


def watchlist_rows(*, user) -> list[tuple[StockRow, list[Race]]]:
    """The player's watched stocks with quotes, and the upcoming races each one runs in."""
    stocks = [w.stock for w in Watchlist.objects.filter(user=user).select_related("stock")]
    rows = stock_rows(stocks, user=user)
    live = [Race.State.SCHEDULED, Race.State.OPEN, Race.State.RUNNING]
    races_by_stock: dict[int, list[Race]] = {s.pk: [] for s in stocks}
    if stocks:
        races = (Race.objects.filter(entries__stock__in=stocks, state__in=live)
                 .prefetch_related("entries").order_by("starts_at").distinct())
        for race in races:
            for entry in race.entries.all():
                if entry.stock_id in races_by_stock:
                    races_by_stock[entry.stock_id].append(race)
    return [(row, races_by_stock[row.stock.pk]) for row in rows]




def watchlist_items(*, user):
    """The player's watchlist rows with their stocks, by symbol (one query; the API's list)."""
    return Watchlist.objects.filter(user=user).select_related("stock").order_by("stock__symbol")
