"""200 concurrent trades on one hot market from real threads: the market maker's invariant holds
after every trade, no balance goes negative, balance == ledger, and markets_verify finds nothing."""
from __future__ import annotations

import random
import threading
from decimal import Decimal as D

import mpmath
import pytest
from django.core.management import call_command
from django.db import connection, connections

from apps.markets.errors import MarketRefused
from apps.markets.models import Market, MarketTrade, Position
from apps.markets.services import market_trade, parse_order, stop_create
from apps.markets.state import probabilities
from apps.markets.verify import markets_verify
from apps.points.models import PointsAccount
from tests.markets.conftest import make_market
from tests.support.factories import UserFactory
from tests.support.ledger import assert_ledger_balanced

pytestmark = pytest.mark.django_db(transaction=True)
THREADS, TRADES_PER_THREAD = 8, 25


def k_of(state: dict) -> mpmath.mpf:
    mpmath.mp.dps = 60
    p = mpmath.mpf(state["p"])
    return mpmath.mpf(state["pool"]["YES"]) ** p * mpmath.mpf(state["pool"]["NO"]) ** (1 - p)


def hammer(market, users, seed_base: int) -> list[str]:
    """THREADS threads x TRADES_PER_THREAD trades (buys by amount or shares, sales of what the
    player holds); returns the refusal codes met."""
    barrier = threading.Barrier(THREADS)
    refusals: list[str] = []
    failures: list[BaseException] = []

    def run(index: int) -> None:
        rng = random.Random(seed_base + index)
        mine = users[index::THREADS]
        try:
            barrier.wait()
            for _ in range(TRADES_PER_THREAD):
                user = rng.choice(mine)
                outcome = rng.randrange(len(market.outcomes)) if market.mechanism != "sigmoid" else 0
                held = (Position.objects.filter(market=market, user=user, outcome=outcome)
                        .values_list("shares", flat=True).first() or D(0))
                if held > 1 and rng.random() < 0.35:
                    order = {"side": "sell", "shares": str((held * D(rng.uniform(0.2, 1))).quantize(D("1e-18")))}
                elif market.mechanism == "sigmoid" and rng.random() < 0.2:
                    order = {"side": "sell", "shares": str(rng.randint(20, 60))}  # a short
                elif rng.random() < 0.5:
                    order = {"side": "buy", "amount": rng.randint(5, 60)}
                else:
                    order = {"side": "buy", "shares": str(rng.randint(5, 50))}
                try:
                    market_trade(user_id=user.pk, market_id=market.pk, order=parse_order(outcome=outcome, **order),
                                 idempotency_key=f"t{index}-{rng.random()}")
                except MarketRefused as exc:
                    refusals.append(exc.error_code)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(240)
    assert not failures, failures
    return refusals


@pytest.mark.parametrize("mechanism", ["cpmm", "lmsr", "sigmoid"])
def test_200_concurrent_trades_on_one_market(mechanism):
    fields = {"cpmm": {"liquidity": 500}, "lmsr": {"b": 50, "outcomes": ["A", "B", "C", "D"], "kind": "multi"},
              "sigmoid": {}}[mechanism]
    market = make_market(mechanism=mechanism, fee_pct="1.67", **fields)
    users = [UserFactory(balance=400) for _ in range(24)]
    # Some stops in the crowd, so cascades run inside the concurrent trades too.
    for user in users[:6]:
        market_trade(user_id=user.pk, market_id=market.pk,
                     order=parse_order(outcome=0, side="buy", amount=30))
        price = probabilities(Market.objects.get(pk=market.pk))[0]
        stop_create(user_id=user.pk, market_id=market.pk, outcome=0, trigger=(price * D("0.8")).quantize(D("1e-6")))
    connection.close()
    refusals = hammer(market, users, seed_base=hash(mechanism) % 1000)

    trades = list(MarketTrade.objects.filter(market=market).order_by("seq"))
    attempted = 6 + THREADS * TRADES_PER_THREAD
    assert len([t for t in trades if t.stop_id is None]) + len(refusals) == attempted
    assert [t.seq for t in trades] == list(range(1, len(trades) + 1))  # one at a time, no gap
    if mechanism == "cpmm":
        # The invariant after every trade: k never falls (rounding keeps the cut in the pools)
        # and moves by no more than that rounding.
        k = k_of(Market.objects.get(pk=market.pk).initial_state)
        for t in trades:
            after = k_of(t.state_after)
            assert after >= k * (1 - mpmath.mpf("1e-30")), f"k fell at trade {t.seq}"
            assert abs(after - k) <= k * mpmath.mpf("1e-14"), f"k jumped at trade {t.seq}"
            k = after
    assert not PointsAccount.objects.filter(balance__lt=0).exists()
    assert_ledger_balanced()
    assert markets_verify() == {}
    call_command("markets_verify")  # exits non-zero on any difference
    assert set(refusals) <= {"insufficient_points", "insufficient_shares", "price_limit", "market_dry", "too_small"}
