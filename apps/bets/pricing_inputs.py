"""The history the pricing model is fitted to, read from the candles in PostgreSQL.

For a race about to open: the recent one-minute candles (intraday races) or daily candles
(full-day races) of its stocks and of a basket of other liquid stocks whose average stands for
the market (apps.bets.pricing_estimate.race_loadings). Only complete candles that ended before
the odds are published count. A stock without candles is priced at its duration's typical spread.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

import numpy as np
from django.db import DatabaseError, connection

from apps.bets import pricing, pricing_estimate as est
from apps.market.models import Stock

log = logging.getLogger(__name__)

# One index range scan per stock (market_candle_bucket_uniq: stock, interval, start), newest first.
CANDLES_SQL = """
SELECT s.symbol, c.start, c.open, c.close
FROM market_stock s
CROSS JOIN LATERAL (
    SELECT c.start, c.open, c.close FROM market_candle c
    WHERE c.stock_id = s.id AND c.interval = %(interval)s AND c.start <= %(last_start)s
    ORDER BY c.start DESC LIMIT %(limit)s
) c
WHERE s.symbol = ANY(%(symbols)s)
"""


def market_basket(exclude: list[str], size: int = pricing.MARKET_BASKET) -> list[str]:
    """The most traded active stocks outside the race (a stable choice: by average volume, then symbol)."""
    rows = (Stock.objects.filter(is_active=True).exclude(symbol__in=exclude)
            .order_by("-avg_volume", "symbol").values_list("symbol", flat=True)[:size])
    return list(rows)


def _read(symbols: list[str], *, interval: str, last_start: datetime, limit: int) -> dict[str, list]:
    found: dict[str, list] = defaultdict(list)
    if not symbols:
        return found
    try:
        with connection.cursor() as cursor:
            cursor.execute(CANDLES_SQL, {"interval": interval, "last_start": last_start, "limit": limit,
                                         "symbols": symbols})
            for symbol, start, open_, close in cursor.fetchall():
                found[symbol].append((int(start.timestamp()), open_, close))
    except DatabaseError:
        log.exception("pricing: candles unavailable; pricing at the typical spreads")
        return defaultdict(list)
    return found


def _arrays(rows: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = sorted(rows)
    return (np.array([r[0] for r in rows], dtype=np.int64), np.array([r[1] for r in rows], dtype=float),
            np.array([r[2] for r in rows], dtype=float))


def race_inputs(*, symbols: list[str], duration: str, before: datetime,
                race_start: datetime) -> tuple[list[pricing.StockInput], list[pricing.StockInput], str]:
    """(the race's stocks in lane order, the market basket, source) for a race priced at ``before``.

    ``source`` is ``candles`` or ``daily`` when every stock of the race has history, ``partial``
    when some have, ``typical`` when none has.
    """
    basket = market_basket(symbols)
    if duration == "1d":
        rows = _read(symbols + basket, interval="1d", last_start=race_start - timedelta(seconds=1),
                     limit=est.DAILY_LOOKBACK)

        def make(symbol):
            return pricing.StockInput(symbol, days=est.Days(*_arrays(rows[symbol]))) if rows.get(symbol) \
                else pricing.StockInput(symbol)
        kind = "daily"
    else:
        # Complete candles only: one that started a minute before ``before`` has ended by then.
        rows = _read(symbols + basket, interval="1m", last_start=before - timedelta(seconds=60),
                     limit=est.CORR_INTRADAY_LOOKBACK)

        def make(symbol):
            return pricing.StockInput(symbol, minutes=est.Minutes(*_arrays(rows[symbol]))) if rows.get(symbol) \
                else pricing.StockInput(symbol)
        kind = "candles"
    stocks = [make(s) for s in symbols]
    market = [make(s) for s in basket if rows.get(s)]
    known = sum(1 for s in symbols if rows.get(s))
    source = kind if known == len(symbols) else ("partial" if known else "typical")
    return stocks, market, source
