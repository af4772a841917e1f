"""Fixtures of the feed tests: the demo universe, synthetic stocks and a free port."""
from __future__ import annotations

import pytest

from apps.market.services import stock_upsert_demo_universe
from tests.support.env import free_port


@pytest.fixture
def demo_stocks(db):
    stock_upsert_demo_universe()


@pytest.fixture
def sim_stocks(db):
    """Stocks named like the simulator's synthetic listings (SIM001…). Redis pub/sub channels
    are shared by every Redis database, so feed tests publish only on symbols no running demo
    or other suite uses."""
    from apps.feed.exchange_sim.universe import synthetic
    from apps.market.models import Stock

    listings = synthetic(8, seed=11)
    Stock.objects.bulk_create([Stock(symbol=x.symbol, name=x.name, sector=x.sector, reference_price=x.price)
                               for x in listings], ignore_conflicts=True)
    return [x.symbol for x in listings]


@pytest.fixture
def port():
    return free_port()  # kernel-picked: no clash with suites running beside this one
