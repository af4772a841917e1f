"""Writes to the stock universe."""
from __future__ import annotations

from decimal import Decimal

from apps.market.demo_data import DEMO_STOCKS
from apps.market.models import Stock


def stock_upsert_demo_universe() -> tuple[int, int]:
    """Create or refresh the demo stocks. Returns (created, updated)."""
    created = updated = 0
    for symbol, name, sector, industry, cap_bn, price, avg_vol_m in DEMO_STOCKS:
        price_d = Decimal(str(price))
        _, was_created = Stock.objects.update_or_create(
            symbol=symbol,
            defaults={
                "name": name, "sector": sector, "industry": industry, "exchange": "NASDAQ/NYSE",
                "market_cap": cap_bn * 1_000_000_000, "reference_price": price_d,
                "week52_high": (price_d * Decimal("1.22")).quantize(Decimal("0.01")),
                "week52_low": (price_d * Decimal("0.74")).quantize(Decimal("0.01")),
                "avg_volume": avg_vol_m * 1_000_000, "is_active": True,
            },
        )
        created += was_created
        updated += not was_created
    return created, updated
