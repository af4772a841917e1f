"""The opening price: each stock's first trade whose provider timestamp is at or after the start.

The feed lags the market, so a trade stamped before the start is never the opening price while
the race can still wait for one stamped after it (RACE_OPEN_PRICE_WAIT_SECONDS); the trades the
feed publishes on the quote channels are listened to, so the first one is taken, not the latest.
"""
from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest

from apps.core.redis import get_redis
from apps.market.quotes import Quote, write_quote
from apps.races import lifecycle
from apps.races.models import Race, RaceEntry
from tests.support import factories as f

pytestmark = pytest.mark.django_db(transaction=True)  # the publisher runs on its own thread
S = Race.State
SYMBOLS = ["AAA", "BBB", "CCC"]


def _trade(symbol: str, price: float, ts: float) -> None:
    pipe = get_redis().pipeline(transaction=False)
    write_quote(pipe, Quote(symbol=symbol, price=price, bid=None, ask=None, volume=1, ts=ts, recv=ts + 0.01))
    pipe.execute()


def _opens(race) -> dict[str, Decimal]:
    return dict(RaceEntry.objects.filter(race=race).values_list("stock__symbol", "open_price"))


def _race():
    return f.RaceFactory(state=S.OPEN, symbols=SYMBOLS)


def test_a_trade_from_before_the_start_is_not_the_opening_price(settings):
    settings.RACE_OPEN_PRICE_WAIT_SECONDS = 3
    race = _race()
    start = race.starts_at.timestamp()
    for symbol, price in zip(SYMBOLS, (10, 20, 30)):
        _trade(symbol, price, start - 0.5)  # the latest the feed has: half a second before the start

    def the_market_goes_on():
        time.sleep(0.4)
        _trade("AAA", 11, start + 0.1)  # the first trades at or after the start ...
        _trade("BBB", 21, start)
        _trade("CCC", 31, start + 0.2)
        _trade("AAA", 12, start + 0.3)  # ... and a later one, which is not the opening price

    publisher = threading.Thread(target=the_market_goes_on)
    publisher.start()
    assert lifecycle.race_start(race_id=race.pk, now=race.starts_at) is True
    publisher.join()
    assert _opens(race) == {"AAA": Decimal("11.0000"), "BBB": Decimal("21.0000"), "CCC": Decimal("31.0000")}
    race.refresh_from_db()
    assert not race.needs_review


def test_a_quote_already_stamped_after_the_start_is_taken_at_once(settings):
    settings.RACE_OPEN_PRICE_WAIT_SECONDS = 5
    race = _race()
    start = race.starts_at.timestamp()
    for symbol, price in zip(SYMBOLS, (10, 20, 30)):
        _trade(symbol, price, start + 0.05)
    began = time.monotonic()
    assert lifecycle.race_start(race_id=race.pk, now=race.starts_at) is True
    assert time.monotonic() - began < 2.5  # nothing to wait for
    assert _opens(race) == {"AAA": Decimal("10.0000"), "BBB": Decimal("20.0000"), "CCC": Decimal("30.0000")}


def test_a_stock_that_does_not_trade_after_the_start_opens_at_its_last_trade_and_is_flagged(settings):
    settings.RACE_OPEN_PRICE_WAIT_SECONDS = 0.6
    race = _race()
    start = race.starts_at.timestamp()
    _trade("AAA", 10, start + 0.1)
    _trade("BBB", 20, start + 0.1)
    _trade("CCC", 30, start - 2)  # quiet since before the start
    assert lifecycle.race_start(race_id=race.pk, now=race.starts_at) is True
    assert _opens(race)["CCC"] == Decimal("30.0000")
    race.refresh_from_db()
    assert race.needs_review and "no trade at or after the start" in race.review_reason and "CCC" in race.review_reason


def test_with_no_feed_lag_the_latest_trade_opens_the_race(settings):
    """The simulator's feed has no lag (RACE_OPEN_PRICE_WAIT_SECONDS = 0): nobody sees the market
    sooner than the game does, and the race opens at once on the latest trades."""
    settings.RACE_OPEN_PRICE_WAIT_SECONDS = 0
    race = _race()
    start = race.starts_at.timestamp()
    for symbol, price in zip(SYMBOLS, (10, 20, 30)):
        _trade(symbol, price, start - 0.2)
    assert lifecycle.race_start(race_id=race.pk, now=race.starts_at) is True
    assert _opens(race) == {"AAA": Decimal("10.0000"), "BBB": Decimal("20.0000"), "CCC": Decimal("30.0000")}
    race.refresh_from_db()
    assert not race.needs_review
