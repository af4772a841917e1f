"""Resolution and cancellation: winning shares pay 1 point each exactly once, a cancelled market
refunds each player's net cost, and markets resolve themselves from race results and prices."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest

from apps.core.redis import redis_now
from apps.markets.errors import MarketRefused
from apps.markets.models import Market, MarketPayout, Stop
from apps.markets.resolution import market_cancel, market_resolve, markets_sweep
from apps.markets.services import market_trade, parse_order, stop_create
from apps.markets.verify import market_verify
from apps.points.models import LedgerEntry
from apps.races.models import Race
from tests.markets.conftest import make_market
from tests.support.factories import RaceFactory, lock_results, write_quotes
from tests.support.ledger import assert_ledger_balanced, balance_of

pytestmark = pytest.mark.django_db


def trade(user, market, **order):
    return market_trade(user_id=user.pk, market_id=market.pk, order=parse_order(**order))


def past_close(market):
    Market.objects.filter(pk=market.pk).update(closes_at=redis_now() - timedelta(seconds=1))


def test_winning_shares_pay_one_point_each_exactly_once(alice, bob, staff):
    market = make_market()
    yes = trade(alice, market, outcome=0, side="buy", amount=30)
    no = trade(bob, market, outcome=1, side="buy", amount=20)
    stop_create(user_id=alice.pk, market_id=market.pk, outcome=0, trigger=D("0.2"))
    before = balance_of(alice), balance_of(bob)
    paid = market_resolve(market_id=market.pk, outcome=0, reason="AAPL closed at 231", by_user_id=staff.pk)
    assert paid == int(yes.shares)  # whole points, the fraction kept (house's favour)
    assert balance_of(alice) == before[0] + int(yes.shares) and balance_of(bob) == before[1]
    assert market_resolve(market_id=market.pk, outcome=0, reason="again", by_user_id=staff.pk) is None
    assert market_resolve(market_id=market.pk, outcome=1, reason="the other way", by_user_id=staff.pk) is None
    assert balance_of(alice) == before[0] + int(yes.shares)
    market.refresh_from_db()
    assert (market.state, market.resolution, market.resolved_by_id) == ("resolved", 0, staff.pk)
    assert market.resolution_reason == "AAPL closed at 231"
    assert list(MarketPayout.objects.filter(market=market).values_list("user_id", "kind", "amount")) == [
        (alice.pk, "payout", int(yes.shares))]
    assert LedgerEntry.objects.filter(kind="market_payout").count() == 1
    assert not Stop.objects.filter(market=market, state="active").exists()
    assert no.shares > 0 and market_verify(market) == []
    with pytest.raises(MarketRefused):
        trade(alice, market, outcome=0, side="sell", shares="1")


def test_a_resolution_needs_a_reason_and_a_known_outcome(cpmm_market):
    with pytest.raises(MarketRefused):
        market_resolve(market_id=cpmm_market.pk, outcome=0, reason="  ")
    with pytest.raises(MarketRefused):
        market_resolve(market_id=cpmm_market.pk, outcome=2, reason="no such outcome")
    assert Market.objects.get(pk=cpmm_market.pk).state == "open"


def test_cancellation_refunds_each_net_cost(alice, bob):
    market = make_market(fee_pct="1.67")
    a1 = trade(alice, market, outcome=0, side="buy", amount=100)
    trade(alice, market, outcome=0, side="sell", shares=str((a1.shares / 2).quantize(D("1e-18"))))
    b1 = trade(bob, market, outcome=1, side="buy", amount=40)
    alice_cost = 1000 - balance_of(alice)
    refunded = market_cancel(market_id=market.pk, reason="the question was ambiguous")
    assert refunded == alice_cost + 40
    assert balance_of(alice) == 1000 and balance_of(bob) == 1000  # made whole, fees included
    assert market_cancel(market_id=market.pk, reason="twice") is None
    assert balance_of(alice) == 1000 and b1.cash == -40
    assert market_verify(market) == []


def test_sigmoid_resolution_pays_longs_and_settles_shorts(alice, bob):
    for outcome in (0, 1):
        market = make_market(mechanism="sigmoid")
        long = trade(alice, market, outcome=0, side="buy", amount=100)
        short = trade(bob, market, outcome=0, side="sell", shares="150")
        balances = balance_of(alice), balance_of(bob)
        market_resolve(market_id=market.pk, outcome=outcome, reason="test")
        if outcome == 0:  # YES: longs paid, shorts' collateral covers what they owe
            assert balance_of(alice) == balances[0] + int(long.shares)
            assert balance_of(bob) == balances[1]
        else:  # NO: longs get nothing, shorts get their collateral back
            assert balance_of(alice) == balances[0]
            assert balance_of(bob) == balances[1] + short.collateral
        assert market_verify(market) == []
    assert_ledger_balanced(alice, bob)


def test_race_winner_market_resolves_from_the_race_result(alice, bob):
    race = RaceFactory(state=Race.State.OPEN, symbols=["AAA", "BBB", "CCC"], duration="1h")
    market = make_market(mechanism="lmsr", kind="multi", outcomes=None, b=10,
                         resolves_by={"type": "race_winner", "race": race.pk},
                         closes_in=race.starts_at - redis_now())
    assert market.outcomes == ["AAA", "BBB", "CCC"]
    bbb = trade(alice, market, outcome=1, side="buy", amount=20)
    trade(bob, market, outcome=2, side="buy", amount=20)
    past_close(market)
    assert markets_sweep() == {"closed": 1, "resolved": 0, "cancelled": 0}  # the race has not run
    assert Market.objects.get(pk=market.pk).state == "closed"
    lock_results(race, {"AAA": -0.5, "BBB": 1.2, "CCC": 0.3})
    Race.objects.filter(pk=race.pk).update(state=Race.State.CALCULATING)
    before = balance_of(alice)
    markets_sweep()
    market.refresh_from_db()
    assert (market.state, market.resolution) == ("resolved", 1)
    assert "BBB won race" in market.resolution_reason
    assert balance_of(alice) == before + int(bbb.shares)
    markets_sweep()
    assert balance_of(alice) == before + int(bbb.shares)


def test_a_cancelled_race_cancels_its_markets(alice):
    race = RaceFactory(state=Race.State.OPEN, symbols=["AAA", "BBB", "CCC"])
    market = make_market(resolves_by={"type": "race_pct", "race": race.pk, "symbol": "AAA", "above": "1"},
                         closes_in=race.starts_at - redis_now())
    trade(alice, market, outcome=0, side="buy", amount=25)
    past_close(market)
    Race.objects.filter(pk=race.pk).update(state=Race.State.CANCELLED)
    markets_sweep()
    assert Market.objects.get(pk=market.pk).state == "cancelled"
    assert balance_of(alice) == 1000


@pytest.mark.parametrize("price,outcome", [(231.5, 0), (229.0, 1)])
def test_price_market_resolves_from_the_locked_closing_price(alice, price, outcome):
    from tests.support.factories import StockFactory

    StockFactory(symbol="AAPL")
    market = make_market(resolves_by={"type": "price", "symbol": "AAPL", "above": "230"})
    trade(alice, market, outcome=0, side="buy", amount=10)
    past_close(market)
    write_quotes({"AAPL": price})
    markets_sweep()
    market.refresh_from_db()
    assert (market.state, market.resolution) == ("resolved", outcome)
    assert "AAPL was at" in market.resolution_reason and not market.needs_review


def test_a_price_market_without_a_closing_price_waits_for_staff(alice):
    from tests.support.factories import StockFactory

    StockFactory(symbol="MSFT")
    market = make_market(resolves_by={"type": "pct_change", "symbol": "MSFT", "above": "2", "base_price": "400"})
    past_close(market)
    markets_sweep()
    market.refresh_from_db()
    assert (market.state, market.needs_review) == ("closed", True)
    assert "no price for MSFT" in market.review_reason
