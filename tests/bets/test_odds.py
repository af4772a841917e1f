"""Publishing a race's prices: once, when betting opens, from its stocks' candles; cached in Redis,
kept in PostgreSQL, fixed on each bet, and never published by a read."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from apps.bets import pricing
from apps.bets.models import RaceOdds, RacePricing
from apps.bets.selectors import race_card, race_odds
from apps.bets.services import bet_place, race_odds_publish
from apps.core.redis import redis_now
from apps.market.models import Candle, Stock
from apps.races import lifecycle
from apps.races.models import Race
from tests.bets.factories import SYMBOLS, BetsRaceFactory
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db


def _candles(symbol: str, moves: list[float], *, end=None, price: float = 100.0) -> None:
    """One-minute candles of ``symbol`` ending a minute before ``end``, one % move per minute."""
    stock = Stock.objects.get(symbol=symbol)
    end = end or redis_now()
    start = end - timedelta(minutes=len(moves) + 1)
    start = start.replace(second=0, microsecond=0)
    rows = []
    for i, move in enumerate(moves):
        close = price * (1 + move / 100)
        at = start + timedelta(minutes=i)
        rows.append(Candle(stock=stock, interval="1m", start=at, open=price, high=max(price, close),
                           low=min(price, close), close=close, volume=10, open_ts=at, close_ts=at))
        price = close
    Candle.objects.bulk_create(rows)


def test_without_history_every_stock_gets_the_typical_spread_and_even_chances():
    race = BetsRaceFactory()
    card = race_odds_publish(race_id=race.pk)
    assert card["symbols"] == list(SYMBOLS)
    assert card["sigma"] == [pytest.approx(0.13)] * 4  # the measured 5-minute spread
    assert card["p"] == [pytest.approx(0.25, abs=1e-6)] * 4
    assert len(set(race_odds(race).values())) == 1
    assert set(RaceOdds.objects.filter(race=race).values_list("source", flat=True)) == {"typical"}


def test_a_volatile_stock_is_more_likely_to_win_and_pays_less_than_a_calm_one():
    race = BetsRaceFactory()
    wild = [1.5 * (-1) ** i for i in range(80)]
    calm = [0.05 * (-1) ** i for i in range(80)]
    _candles("AAPL", calm)
    _candles("MSFT", calm)
    _candles("TSLA", wild)
    _candles("NVDA", calm)
    card = race_odds_publish(race_id=race.pk)
    odds = race_odds(race)
    assert card["sigma"][2] > 10 * card["sigma"][0]
    assert card["p"][2] > card["p"][0]
    assert odds["TSLA"] < odds["AAPL"]  # the likelier winner pays less; the underdogs pay more
    assert RacePricing.objects.get(race=race).source == "candles"
    assert RaceOdds.objects.get(race=race, symbol="TSLA").probability == pytest.approx(card["p"][2])


def test_prices_never_move_and_survive_a_redis_flush(redis_client):
    race = BetsRaceFactory()
    first = race_odds_publish(race_id=race.pk)
    _candles("AAPL", [3.0, -3.0] * 40)  # new history after publication changes nothing
    assert race_odds_publish(race_id=race.pk) == first
    redis_client.flushdb()
    assert race_card(race) == first
    assert race_odds_publish(race_id=race.pk) == first
    with pytest.raises(Race.DoesNotExist):
        race_odds_publish(race_id=race.pk + 999)


def test_the_same_race_always_gets_the_same_prices():
    """The podium Monte Carlo is seeded by the race: a second publication from the same history is
    identical, another race's seed gives other draws."""
    a = pricing.podium_expected_accuracy([0.1, 0.2, 0.3, 0.15], [0.5, 0.6, 0.4, 0.7], seed=7)
    assert a == pricing.podium_expected_accuracy([0.1, 0.2, 0.3, 0.15], [0.5, 0.6, 0.4, 0.7], seed=7)
    assert a != pricing.podium_expected_accuracy([0.1, 0.2, 0.3, 0.15], [0.5, 0.6, 0.4, 0.7], seed=8)


def test_viewing_a_scheduled_race_publishes_nothing(client):
    race = BetsRaceFactory(state=Race.State.SCHEDULED, starts_in=timedelta(minutes=20))
    assert race_odds(race) is None and race_card(race) is None
    assert race_odds_publish(race_id=race.pk) is None  # not open: no prices yet
    client.get(f"/races/{race.pk}/")
    client.get(f"/api/v1/races/{race.pk}/")
    assert not RacePricing.objects.filter(race=race).exists()
    assert not RaceOdds.objects.filter(race=race).exists()


def test_prices_are_published_when_betting_opens(django_capture_on_commit_callbacks):
    race = BetsRaceFactory(state=Race.State.SCHEDULED, starts_in=timedelta(minutes=20))
    Race.objects.filter(pk=race.pk).update(betting_opens_at=redis_now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert lifecycle.race_open(race_id=race.pk) is True
    assert RacePricing.objects.filter(race=race).exists()
    assert race_odds(race) is not None


def test_the_bet_fixes_the_published_odds(race):
    race_odds_publish(race_id=race.pk)
    published = race_odds(race)
    player = UserFactory(username="fixer")
    bet = bet_place(user=player, race_id=race.pk, kind="winner", stake=10, symbol="NVDA")
    assert bet.odds == published["NVDA"]
    assert type(bet).objects.get(pk=bet.pk).odds == published["NVDA"]
    assert 1.0 < bet.timing <= 1.03  # betting opened five minutes ago, the window is ten
    # The most it can pay: 10 × odds × timing × the largest field × the best streak.
    assert bet.potential_payout == int(10 * float(published["NVDA"]) * bet.timing * 1.075 * 1.1 + 1e-9)


def test_the_margin_is_fixed_with_the_prices(settings):
    settings.BET_HOUSE_MARGIN = 0.05
    race = BetsRaceFactory()
    race_odds_publish(race_id=race.pk)
    before = race_odds(race)
    settings.BET_HOUSE_MARGIN = 0.2
    assert race_odds(race) == before  # published once: a later setting does not move them
    other = BetsRaceFactory(title="later")
    race_odds_publish(race_id=other.pk)
    assert all(race_odds(other)[s] < before[s] for s in SYMBOLS)
    assert Decimal(str(race_card(other)["margin"])) == Decimal("0.2")
