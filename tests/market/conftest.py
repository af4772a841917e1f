"""Fixtures of the market tests: stocks, and where the bundled real data lives."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from apps.market.models import Stock

DATA_DIR = Path(settings.BASE_DIR).parent / "shared" / "data"
INTRADAY_DIR = DATA_DIR / "market" / "intraday_1min"
DAILY_DIR = DATA_DIR / "market" / "daily_sp500"
INDICATORS_DIR = DATA_DIR / "reference" / "indicators"


def require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real market data not found at {path} (the shared data directory is absent)")
    return path


@pytest.fixture
def make_stock(db):
    def make(symbol: str = "AAPL", **fields) -> Stock:
        defaults = {"name": f"{symbol} Inc.", "sector": "Technology"}
        defaults.update(fields)
        return Stock.objects.create(symbol=symbol, **defaults)

    return make
