"""Odds: underdogs pay more, narrower brackets pay more, podium by field size; winner odds are
published once per race, cached in Redis and fixed on each bet."""
from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from apps.bets import odds as odds_math
from apps.bets.models import RaceOdds
from apps.bets.momentum import race_momentum
from apps.bets.selectors import race_odds
from apps.bets.services import bet_place, race_odds_publish
from apps.core.redis import redis_now
from apps.market.models import Candle, Stock
from apps.market.quotes import Quote, write_quote
from apps.races.models import Race
from tests.bets.factories import BetsRaceFactory
from tests.support.factories import UserFactory

momenta = st.floats(min_value=-20, max_value=20, allow_nan=False)


@given(st.dictionaries(st.sampled_from("ABCDEFGH"), momenta, min_size=3, max_size=8))
def test_lower_momentum_never_pays_less(momentum):
    odds = odds_math.winner_odds(momentum)
    for a in momentum:
        for b in momentum:
            if momentum[a] < momentum[b]:
                assert odds[a] >= odds[b]


def test_even_odds_without_data_and_the_house_margin(settings):
    settings.BET_HOUSE_MARGIN = 0.05
    assert set(odds_math.winner_odds({s: None for s in "ABCD"}).values()) == {Decimal("3.80")}
    settings.BET_HOUSE_MARGIN = 0.0
    assert set(odds_math.winner_odds({s: None for s in "ABCD"}).values()) == {Decimal("4.00")}


@given(st.floats(-5, 5), st.floats(0.05, 5), st.floats(0.0, 1.0), st.sampled_from(["5m", "15m", "1h", "1d"]))
def test_a_narrower_bracket_inside_a_wider_one_never_pays_less(low, width, shrink, duration):
    narrow_low = low + width * shrink / 2
    narrow_high = low + width - width * shrink / 2
    if narrow_high - narrow_low < 0.05:
        return
    assert odds_math.bracket_odds(narrow_low, narrow_high, duration) >= odds_math.bracket_odds(low, low + width,
                                                                                               duration)


def test_bracket_odds_grow_as_the_bracket_narrows():
    assert (odds_math.bracket_odds(-0.1, 0.1, "1h") > odds_math.bracket_odds(-0.5, 0.5, "1h")
            > odds_math.bracket_odds(-2, 2, "1h") >= odds_math.MIN_ODDS)


def test_podium_odds_grow_with_the_field():
    assert [odds_math.podium_odds(n) for n in range(3, 9)] == [
        Decimal("5.70"), Decimal("22.80"), Decimal("57.00"), Decimal("114.00"), Decimal("199.50"), Decimal("319.20")]


@given(st.integers(1, 10**6), st.decimals(min_value=Decimal("1.01"), max_value=Decimal("500"), places=2))
@hsettings(max_examples=200)
def test_potential_payout_is_the_floor_of_stake_times_odds(stake, odds):
    payout = odds_math.potential_payout(stake, odds)
    assert payout <= stake * odds < payout + 1


@pytest.mark.django_db
def test_momentum_from_quotes_against_the_reference_price(redis_client):
    race = BetsRaceFactory()
    now = time.time()
    pipe = redis_client.pipeline()
    for symbol, price in (("AAPL", 104), ("MSFT", 100), ("TSLA", 95), ("NVDA", 101)):
        write_quote(pipe, Quote(symbol=symbol, price=price, bid=None, ask=None, volume=1, ts=now, recv=now))
    pipe.execute()
    momentum, source = race_momentum(["AAPL", "MSFT", "TSLA", "NVDA"], redis_now())
    assert source == "quotes" and momentum["AAPL"] == pytest.approx(4.0) and momentum["TSLA"] == pytest.approx(-5)
    odds = race_odds(race)
    assert odds["TSLA"] > odds["MSFT"] > odds["AAPL"]  # the underdog pays most
    assert RaceOdds.objects.filter(race=race, source="quotes").count() == 4


@pytest.mark.django_db
def test_momentum_from_recent_candles_comes_first(redis_client):
    BetsRaceFactory()
    now = redis_now()
    for symbol, (first, last) in {"AAPL": (100, 99), "MSFT": (100, 102), "TSLA": (50, 50)}.items():
        stock = Stock.objects.get(symbol=symbol)
        for minutes, (o, c) in ((30, (first, first)), (2, (last, last))):
            start = now - timedelta(minutes=minutes)
            Candle.objects.create(stock=stock, interval="1m", start=start, open=o, high=max(o, c), low=min(o, c),
                                  close=c, volume=10, open_ts=start, close_ts=start)
    momentum, source = race_momentum(["AAPL", "MSFT", "TSLA"], now)
    assert source == "candles"
    assert momentum == pytest.approx({"AAPL": -1.0, "MSFT": 2.0, "TSLA": 0.0})


@pytest.mark.django_db
def test_no_data_means_even_odds():
    race = BetsRaceFactory()
    assert set(race_odds(race).values()) == {Decimal("3.80")}
    assert set(RaceOdds.objects.filter(race=race).values_list("source", flat=True)) == {"even"}


@pytest.mark.django_db
def test_published_odds_never_move_and_survive_a_redis_flush(redis_client):
    race = BetsRaceFactory()
    first = race_odds_publish(race_id=race.pk)
    now = time.time()
    pipe = redis_client.pipeline()
    write_quote(pipe, Quote(symbol="AAPL", price=150, bid=None, ask=None, volume=1, ts=now, recv=now))
    pipe.execute()
    assert race_odds_publish(race_id=race.pk) == first
    redis_client.flushdb()
    assert race_odds(race) == first
    with pytest.raises(Race.DoesNotExist):
        race_odds_publish(race_id=race.pk + 999)


@pytest.mark.django_db
def test_the_bet_fixes_the_published_odds(race):
    published = race_odds(race)
    player = UserFactory(username="fixer")
    bet = bet_place(user=player, race_id=race.pk, kind="winner", stake=10, symbol="NVDA")
    assert bet.odds == published["NVDA"]
    assert bet.potential_payout == int(10 * published["NVDA"])
    RaceOdds.objects.filter(race=race)  # the bet keeps its own copy
    assert type(bet).objects.get(pk=bet.pk).odds == published["NVDA"]
