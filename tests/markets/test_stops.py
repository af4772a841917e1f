"""Stop-losses: executed inside the transaction of the trade that crossed them, cascading level by
level to a bounded depth; refusals leave them failed, not pending."""
from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.db import transaction
from django.test import override_settings

from apps.markets.errors import MarketRefused
from apps.markets.models import Market, MarketTrade, Position, Stop
from apps.markets.services import market_trade, parse_order, stop_cancel, stop_create
from apps.markets.verify import market_verify
from tests.markets.conftest import make_market
from tests.support.factories import UserFactory
from tests.support.ledger import assert_ledger_balanced

pytestmark = pytest.mark.django_db


def trade(user, market, **order):
    return market_trade(user_id=user.pk, market_id=market.pk, order=parse_order(**order))


def stop(user, market, outcome, trigger, shares=None):
    return stop_create(user_id=user.pk, market_id=market.pk, outcome=outcome, trigger=D(trigger), shares=shares)


class Rollback(Exception):
    pass


def test_a_stop_fires_inside_the_trade_that_crosses_it(alice, bob):
    market = make_market(liquidity=200)
    bought = trade(alice, market, outcome=0, side="buy", amount=50)
    guard = stop(alice, market, 0, "0.45")
    seen = {}
    # Inside one transaction: bob's trade returns with alice's stop already executed; rolled
    # back, neither exists: the stop ran in bob's transaction, not after it.
    with pytest.raises(Rollback):
        with transaction.atomic():
            crossing = trade(bob, market, outcome=1, side="buy", amount=150)
            seen["fired"] = crossing.stops_fired
            seen["stop"] = Stop.objects.get(pk=guard.pk).state
            seen["position"] = Position.objects.get(market=market, user=alice, outcome=0).shares
            seen["executions"] = list(MarketTrade.objects.filter(stop=guard).values_list("trigger_id", "user_id"))
            seen["crossing"] = crossing.pk
            raise Rollback
    assert seen["fired"] == [(guard.pk, alice.pk, "executed")]
    assert seen["stop"] == "executed" and seen["position"] == 0
    assert seen["executions"] == [(seen["crossing"], alice.pk)]
    assert Stop.objects.get(pk=guard.pk).state == "active"
    assert Position.objects.get(market=market, user=alice, outcome=0).shares == bought.shares
    # And for real: the stop's sale is the trade right after bob's, triggered by it.
    crossing = trade(bob, market, outcome=1, side="buy", amount=150)
    execution = MarketTrade.objects.get(stop=guard)
    assert (execution.seq, execution.trigger_id, execution.depth) == (crossing.seq + 1, crossing.pk, 1)
    assert execution.prob_before[0] <= D("0.45")
    assert Market.objects.get(pk=market.pk).active_stops == 0
    assert_ledger_balanced(alice, bob)
    assert market_verify(market) == []


@pytest.mark.parametrize("max_depth,depths,failed", [(3, [1, 1, 2, 2], 0), (1, [1, 1], 2)])
def test_a_cascade_runs_level_by_level_to_its_depth_limit(max_depth, depths, failed):
    from apps.markets.state import probabilities

    market = make_market(liquidity=300)
    holders = [UserFactory(balance=1000) for _ in range(4)]
    for user in holders:
        trade(user, market, outcome=0, side="buy", amount=40)
    start = probabilities(Market.objects.get(pk=market.pk))[0]
    # Each stop 1 point lower: the seller's trade crosses the first two, whose sales cross the others.
    stops = [stop(u, market, 0, (start - D("0.01") * (i + 1)).quantize(D("1e-6"))) for i, u in enumerate(holders)]
    seller = UserFactory(balance=1000)
    with override_settings(MARKET_STOP_MAX_DEPTH=max_depth):
        crossing = trade(seller, market, outcome=1, side="buy", amount=12)
    executions = MarketTrade.objects.filter(market=market, stop__isnull=False).order_by("seq")
    assert [t.depth for t in executions] == depths
    assert all(t.trigger_id == crossing.pk for t in executions)
    states = [Stop.objects.get(pk=s.pk) for s in stops]
    assert [s.state for s in states] == ["executed"] * len(depths) + ["failed"] * failed
    assert all(f"limit of {max_depth} levels" in s.reason for s in states if s.state == "failed")
    assert Market.objects.get(pk=market.pk).active_stops == 0
    assert market_verify(market) == []


def test_stop_rules():
    market = make_market()
    alice = UserFactory(balance=1000)
    with pytest.raises(MarketRefused) as refused:
        stop(alice, market, 0, "0.4")
    assert refused.value.error_code == "no_position"
    trade(alice, market, outcome=0, side="buy", amount=10)
    for trigger in ("0.6", "0", "1", "1.5"):
        with pytest.raises(MarketRefused) as refused:
            stop(alice, market, 0, trigger)
        assert refused.value.status_code == 400
    with pytest.raises(MarketRefused):
        stop(alice, market, 0, "0.4", shares="1000")
    placed = stop(alice, market, 0, "0.4", shares="5")
    assert placed.direction == "below" and Market.objects.get(pk=market.pk).active_stops == 1
    assert stop_cancel(user_id=alice.pk, market_id=market.pk, stop_id=placed.pk)
    assert not stop_cancel(user_id=alice.pk, market_id=market.pk, stop_id=placed.pk)
    assert Market.objects.get(pk=market.pk).active_stops == 0


def test_a_short_stop_buys_back_when_the_price_rises(alice, bob):
    market = make_market(mechanism="sigmoid")
    trade(alice, market, outcome=0, side="sell", shares="100")
    guard = stop(alice, market, 0, "0.07")
    assert guard.direction == "above"
    trade(bob, market, outcome=0, side="buy", amount=60)
    assert Stop.objects.get(pk=guard.pk).state == "executed"
    position = Position.objects.get(market=market, user=alice)
    assert (position.shares, position.collateral) == (0, 0)
    assert_ledger_balanced(alice, bob)
    assert market_verify(market) == []


def test_a_stop_whose_position_is_gone_is_cancelled_not_left_active(alice, bob):
    market = make_market(liquidity=200)
    bought = trade(alice, market, outcome=0, side="buy", amount=50)
    guard = stop(alice, market, 0, "0.45")
    trade(alice, market, outcome=0, side="sell", shares=str(bought.shares))
    trade(bob, market, outcome=1, side="buy", amount=150)
    assert Stop.objects.get(pk=guard.pk).state == "cancelled"
    assert Market.objects.get(pk=market.pk).active_stops == 0
    assert market_verify(market) == []
