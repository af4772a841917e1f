"""Fixtures of the feed tests: the demo universe and free ports in the feed range (8400-8499)."""
from __future__ import annotations

import socket

import pytest

from apps.market.services import stock_upsert_demo_universe

PORT_RANGE = range(8400, 8500)


def free_port() -> int:
    for port in PORT_RANGE:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8400-8499")


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
    return free_port()
