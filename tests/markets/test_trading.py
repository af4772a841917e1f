"""Trading: buys by amount or shares, sales, shorts, fees and rounding, refusals that write nothing,
Idempotency-Key, and every point through the ledger."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.db import connection

from apps.core.redis import redis_now
from apps.markets.errors import MarketRefused
from apps.markets.models import Market, MarketTrade, Position
from apps.markets.services import market_trade, parse_order
from apps.markets.verify import market_verify
from apps.points.models import LedgerEntry
from tests.markets.conftest import make_market
from tests.support.ledger import assert_ledger_balanced, balance_of

pytestmark = pytest.mark.django_db


def trade(user, market, **order):
    key = order.pop("key", None)
    return market_trade(user_id=user.pk, market_id=market.pk, order=parse_order(**order), idempotency_key=key)


def written(market) -> tuple:
    """Everything a trade would write: trades, positions, ledger entries, the market's state."""
    market = Market.objects.get(pk=market.pk)
    return (MarketTrade.objects.filter(market=market).count(), Position.objects.filter(market=market).count(),
            LedgerEntry.objects.count(), market.seq, market.pool_yes, market.pool_no, market.q, market.supply)


def test_cpmm_anchor_through_the_ledger(alice, cpmm_market):
    bought = trade(alice, cpmm_market, outcome=0, side="buy", amount=10)
    assert str(bought.shares).startswith("19.090909090909")
    assert str(bought.prob_after[0]).startswith("0.547511")
    assert (bought.points, bought.fee, bought.cash) == (10, 0, -10)
    assert balance_of(alice) == 990
    sold = trade(alice, cpmm_market, outcome=0, side="sell", shares=str(bought.shares))
    assert (sold.points, sold.fee, sold.cash) == (10, 0, 10)  # exactly 10 back before fees
    assert balance_of(alice) == 1000
    kinds = list(LedgerEntry.objects.filter(user=alice, kind__startswith="market").order_by("id")
                 .values_list("kind", "amount"))
    assert kinds == [("market_buy", -10), ("market_sell", 10)]
    assert Position.objects.get(market=cpmm_market, user=alice).shares == 0
    assert market_verify(cpmm_market) == []


def test_fee_is_charged_rounded_up_and_recorded_as_its_own_entry(alice):
    market = make_market(fee_pct="1.67")
    bought = trade(alice, market, outcome=0, side="buy", amount=100)
    assert (bought.points, bought.fee, bought.cash) == (98, 2, -100)  # 1.67 rounded up to 2, fee included
    by_shares = trade(alice, market, outcome=1, side="buy", shares="10")
    assert by_shares.fee == 1 and by_shares.points >= 1 and by_shares.cash == -(by_shares.points + 1)
    sold = trade(alice, market, outcome=0, side="sell", shares=str(bought.shares))
    assert sold.points < 98 and sold.cash == sold.points - sold.fee  # a round trip loses the fees
    fees = LedgerEntry.objects.filter(user=alice, kind="market_fee").values_list("amount", flat=True)
    assert sorted(fees) == sorted([-2, -1, -sold.fee])
    assert Market.objects.get(pk=market.pk).fees == 3 + sold.fee
    assert_ledger_balanced(alice)
    assert market_verify(market) == []


def test_buy_by_shares_costs_exactly_those_shares(alice, cpmm_market):
    bought = trade(alice, cpmm_market, outcome=1, side="buy", shares="25.5")
    assert bought.shares == D("25.5")
    assert bought.points == int(bought.cost) + 1  # the exact cost, rounded up to a whole point
    assert Position.objects.get(market=cpmm_market, user=alice, outcome=1).shares == D("25.5")
    assert balance_of(alice) == 1000 - bought.points


@pytest.mark.parametrize("order,code,status", [
    ({"outcome": 5, "side": "buy", "amount": 10}, "unknown_outcome", 400),
    ({"outcome": 0, "side": "sell", "shares": "1"}, "insufficient_shares", 409),
    ({"outcome": 0, "side": "buy", "amount": 5000}, "insufficient_points", 409),
    ({"outcome": 0, "side": "buy", "amount": 10 ** 9}, "market_dry", 409),
    ({"outcome": 0, "side": "buy", "amount": 900}, "price_limit", 409),
])
def test_refusals_write_nothing(alice, order, code, status):
    market = make_market(liquidity={"price_limit": 1000, "insufficient_points": 10_000}.get(code, 100))
    if code == "price_limit":
        from apps.points import ledger

        ledger.credit(user_id=alice.pk, amount=10 ** 6, kind="adjustment", key="rich")
        order = {**order, "amount": 9000}
    if code == "market_dry":
        from apps.points import ledger

        ledger.credit(user_id=alice.pk, amount=10 ** 9, kind="adjustment", key="richer")
    before = written(market)
    with pytest.raises(MarketRefused) as refused:
        trade(alice, market, **order)
    assert (refused.value.error_code, refused.value.status_code) == (code, status)
    assert written(market) == before
    assert_ledger_balanced(alice)


@pytest.mark.parametrize("order", [
    {"outcome": 0, "side": "buy", "amount": 0}, {"outcome": 0, "side": "buy", "amount": -5},
    {"outcome": 0, "side": "buy", "shares": "0"}, {"outcome": 0, "side": "buy", "shares": "-1"},
    {"outcome": 0, "side": "buy"}, {"outcome": 0, "side": "buy", "amount": 1, "shares": "1"},
    {"outcome": 0, "side": "short", "amount": 1}, {"outcome": "YES", "side": "buy", "amount": 1},
    {"outcome": 0, "side": "sell", "amount": 5}, {"outcome": 0, "side": "buy", "shares": "1e-19"},
    {"outcome": 0, "side": "buy", "amount": 1.5}, {"outcome": 0, "side": "buy", "shares": "NaN"},
])
def test_bad_orders_are_400s(order):
    with pytest.raises(MarketRefused) as refused:
        parse_order(**order)
    assert refused.value.status_code == 400


def test_closed_and_ended_markets_take_no_trades(alice):
    market = make_market(closes_in=timedelta(seconds=1))
    Market.objects.filter(pk=market.pk).update(closes_at=redis_now() - timedelta(seconds=1))
    before = written(market)
    with pytest.raises(MarketRefused) as refused:
        trade(alice, market, outcome=0, side="buy", amount=10)
    assert refused.value.error_code == "market_closed"
    for state in ("closed", "resolved", "cancelled"):
        Market.objects.filter(pk=market.pk).update(state=state, closes_at=redis_now() + timedelta(hours=1),
                                                   resolution=0)
        with pytest.raises(MarketRefused):
            trade(alice, market, outcome=0, side="buy", amount=10)
    assert written(market)[:3] == before[:3]


def test_idempotency_key_replays_the_first_trade(alice, cpmm_market):
    first = trade(alice, cpmm_market, outcome=0, side="buy", amount=10, key="k-1")
    again = trade(alice, cpmm_market, outcome=0, side="buy", amount=10, key="k-1")
    assert again.pk == first.pk and again.replayed and not first.replayed
    assert balance_of(alice) == 990 and MarketTrade.objects.filter(market=cpmm_market).count() == 1
    with pytest.raises(MarketRefused) as refused:
        trade(alice, cpmm_market, outcome=0, side="buy", amount=11, key="k-1")
    assert refused.value.status_code == 422


def test_a_repeat_the_market_or_the_account_would_now_refuse_still_replays(alice, cpmm_market):
    """The key is looked up only when the trade cannot go through: the unique (player, key)
    refusing the insert, or a refusal (closed since, points spent since) — the first trade stands."""
    first = trade(alice, cpmm_market, outcome=0, side="buy", amount=600, key="k-big")
    again = trade(alice, cpmm_market, outcome=0, side="buy", amount=600, key="k-big")  # 400 points left
    assert again.pk == first.pk and again.replayed and again.stops_fired == []
    Market.objects.filter(pk=cpmm_market.pk).update(closes_at=redis_now() - timedelta(seconds=1))
    closed = trade(alice, cpmm_market, outcome=0, side="buy", amount=600, key="k-big")
    assert closed.pk == first.pk and closed.replayed
    with pytest.raises(MarketRefused) as refused:  # a new key on the closed market
        trade(alice, cpmm_market, outcome=0, side="buy", amount=600, key="k-new")
    assert refused.value.error_code == "market_closed"
    with pytest.raises(MarketRefused) as refused:  # the old key for another trade, even refused anyway
        trade(alice, cpmm_market, outcome=1, side="buy", amount=5, key="k-big")
    assert refused.value.status_code == 422
    assert balance_of(alice) == 400 and MarketTrade.objects.filter(market=cpmm_market).count() == 1
    assert_ledger_balanced()


def test_multi_outcome_lmsr_trades(alice, bob):
    market = make_market(mechanism="lmsr", outcomes=["AAPL", "MSFT", "NVDA"], b=20)
    a = trade(alice, market, outcome=2, side="buy", amount=30)
    b = trade(bob, market, outcome=0, side="buy", shares="10")
    assert a.prob_after[2] > a.prob_before[2] and b.prob_after[0] > b.prob_before[0]
    assert sum(b.prob_after) == pytest.approx(1, abs=1e-15)
    trade(alice, market, outcome=2, side="sell", shares=str((a.shares / 2).quantize(D("1e-18"))))
    assert_ledger_balanced(alice, bob)
    assert market_verify(market) == []


def test_sigmoid_short_holds_collateral_until_bought_back(alice):
    market = make_market(mechanism="sigmoid")
    short = trade(alice, market, outcome=0, side="sell", shares="100")
    assert short.position_after == D(-100) and short.collateral == 100
    assert short.cash == short.points - 100  # proceeds in, 1 point per share short held
    position = Position.objects.get(market=market, user=alice)
    assert (position.shares, position.collateral) == (D(-100), 100)
    assert Market.objects.get(pk=market.pk).supply == D(-100)
    cover = trade(alice, market, outcome=0, side="buy", shares="100")
    assert cover.collateral == -100 and cover.position_after == 0
    assert balance_of(alice) == 1000 + short.points - cover.points  # the round trip, no fee
    assert balance_of(alice) <= 1000
    kinds = set(LedgerEntry.objects.filter(user=alice).values_list("kind", flat=True))
    assert {"collateral_lock", "collateral_release", "market_sell", "market_buy"} <= kinds
    with pytest.raises(MarketRefused) as refused:
        trade(alice, market, outcome=1, side="buy", amount=10)
    assert refused.value.error_code == "unknown_outcome"
    assert market_verify(market) == []


def test_binary_short_is_buying_no(alice, cpmm_market):
    with pytest.raises(MarketRefused) as refused:
        trade(alice, cpmm_market, outcome=0, side="sell", shares="5")
    assert "Buy NO" in str(refused.value.detail)
    no = trade(alice, cpmm_market, outcome=1, side="buy", amount=20)
    assert no.prob_after[0] < D("0.5")


def test_trade_ledger_is_append_only(alice, cpmm_market):
    trade(alice, cpmm_market, outcome=0, side="buy", amount=10)
    from django.db import DatabaseError, transaction

    for statement in ("UPDATE markets_markettrade SET points = 0", "DELETE FROM markets_markettrade"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)


def test_a_deactivated_player_cannot_trade(alice, cpmm_market):
    type(alice).objects.filter(pk=alice.pk).update(is_active=False)
    before = written(cpmm_market)
    with pytest.raises(MarketRefused) as refused:
        trade(alice, cpmm_market, outcome=0, side="buy", amount=10)
    assert refused.value.status_code == 403
    assert written(cpmm_market) == before


def test_liquidity_add_keeps_the_probability_and_replays(alice, staff):
    from apps.markets.services import market_add_liquidity
    from apps.markets.state import probabilities

    market = make_market(liquidity=100, initial_probability=D("0.3"))
    trade(alice, market, outcome=0, side="buy", amount=25)
    before = probabilities(Market.objects.get(pk=market.pk))
    added = market_add_liquidity(market_id=market.pk, amount="400", by_user_id=staff.pk)
    after_market = Market.objects.get(pk=market.pk)
    assert added.kind == "liquidity" and after_market.subsidy == D(500)
    assert abs(probabilities(after_market)[0] - before[0]) < D("1e-15")
    assert after_market.pool_yes > 400 and after_market.pool_no > 400
    trade(alice, market, outcome=1, side="buy", amount=25)
    assert market_verify(market) == []
    with pytest.raises(MarketRefused):
        market_add_liquidity(market_id=make_market(mechanism="lmsr", b=10).pk, amount="10", by_user_id=staff.pk)
