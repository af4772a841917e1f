"""The symbols the simulator trades: the Stock table, padded with synthetic listings."""
from __future__ import annotations

import random
from dataclasses import dataclass

SYNTHETIC_SECTORS = ["Technology", "Financials", "Health Care", "Energy", "Industrials",
                     "Consumer Discretionary", "Consumer Staples", "Utilities", "Materials",
                     "Real Estate", "Communication Services"]


@dataclass(frozen=True, slots=True)
class Listing:
    symbol: str
    name: str
    sector: str
    price: float  # the reference price the model starts from and drifts back to
    industry: str = ""
    exchange: str = "SIM"
    market_cap: int | None = None
    avg_volume: int = 5_000_000


def _from_database() -> list[Listing]:
    from apps.market.models import Stock

    rows = Stock.objects.filter(is_active=True).order_by("symbol").values_list(
        "symbol", "name", "sector", "reference_price", "industry", "exchange", "market_cap", "avg_volume")
    return [Listing(symbol=s, name=n, sector=sec or "Other", price=float(p or 100), industry=ind or "",
                    exchange=ex or "SIM", market_cap=cap, avg_volume=vol or 5_000_000)
            for s, n, sec, p, ind, ex, cap, vol in rows]


def _demo() -> list[Listing]:
    from apps.market.demo_data import DEMO_STOCKS

    return sorted((Listing(symbol=s, name=n, sector=sec, price=float(p), industry=ind, exchange="NASDAQ/NYSE",
                           market_cap=cap * 1_000_000_000, avg_volume=vol * 1_000_000)
                   for s, n, sec, ind, cap, p, vol in DEMO_STOCKS), key=lambda listing: listing.symbol)


def synthetic(count: int, seed: int, start: int = 1) -> list[Listing]:
    """Invented listings SIM001, SIM002… with a sector and a plausible price from the seed."""
    rng = random.Random(seed)
    out = []
    for number in range(start, start + count):
        sector = SYNTHETIC_SECTORS[number % len(SYNTHETIC_SECTORS)]
        out.append(Listing(symbol=f"SIM{number:03d}", name=f"Simulated Company {number}", sector=sector,
                           price=round(rng.uniform(15, 400), 2), industry="Simulated",
                           avg_volume=rng.randrange(1_000_000, 20_000_000)))
    return out


def load_listings(count: int, seed: int, use_database: bool = True, synthetic_only: bool = False) -> list[Listing]:
    """``count`` listings (0: every listed stock); the Stock table first, the demo universe
    when the table is empty or unreachable, then synthetic ones up to ``count``.
    ``synthetic_only``: SIM001… alone (tests, benchmarks: no real ticker's channel is touched)."""
    if synthetic_only:
        return synthetic(count or 6, seed)
    listings: list[Listing] = []
    if use_database:
        try:
            listings = _from_database()
        except Exception:  # no database yet (first start before migrate): the demo list will do
            listings = []
    if not listings:
        listings = _demo()
    if count and count < len(listings):
        return listings[:count]
    if count > len(listings):
        listings = listings + synthetic(count - len(listings), seed)
    return listings
