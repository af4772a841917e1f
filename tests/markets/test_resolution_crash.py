"""Resolution pays exactly once, with real processes: two workers racing to resolve one market,
and a worker SIGKILLed inside the resolution transaction, then the task run again."""
from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection

from apps.core.redis import redis_now
from apps.markets.models import Market, MarketPayout
from apps.markets.services import market_trade, parse_order
from apps.markets.tasks import market_resolve_task
from apps.markets.verify import market_verify
from apps.points.models import LedgerEntry
from apps.races.models import Race
from tests.markets.conftest import make_market
from tests.support.env import PYTHON
from tests.support.factories import RaceFactory, UserFactory, lock_results
from tests.support.ledger import assert_ledger_balanced, balances
from tests.support.processes import Process

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
WORKER = Path(__file__).with_name("worker_script.py")


def start(*args: str) -> Process:
    return Process("market-worker", [PYTHON, str(WORKER), *args])


def result(proc: Process, timeout: float = 60) -> dict:
    code = proc.proc.wait(timeout)
    assert code == 0, f"worker failed ({code})\n{proc.tail()}"
    return json.loads([line for line in proc.log().splitlines() if line.startswith("{")][-1])


def resolvable_market():
    """A race-winner market whose race has finished (BBB won), with six holders, past its close."""
    race = RaceFactory(state=Race.State.OPEN, symbols=["AAA", "BBB", "CCC"], duration="1h")
    market = make_market(mechanism="lmsr", kind="multi", outcomes=None, b=20,
                         resolves_by={"type": "race_winner", "race": race.pk}, closes_in=race.starts_at - redis_now())
    users = [UserFactory(balance=500) for _ in range(6)]
    for i, user in enumerate(users):
        market_trade(user_id=user.pk, market_id=market.pk, order=parse_order(outcome=i % 3, side="buy", amount=40))
    Market.objects.filter(pk=market.pk).update(closes_at=redis_now() - timedelta(seconds=1))
    lock_results(race, {"AAA": 0.1, "BBB": 0.9, "CCC": -0.4})
    Race.objects.filter(pk=race.pk).update(state=Race.State.CALCULATING)
    return market, users


def assert_paid_once(market, users):
    market.refresh_from_db()
    assert (market.state, market.resolution) == ("resolved", 1)
    winners = [u for i, u in enumerate(users) if i % 3 == 1]
    payouts = MarketPayout.objects.filter(market=market)
    assert sorted(payouts.values_list("user_id", flat=True)) == sorted(u.pk for u in winners)
    entries = LedgerEntry.objects.filter(kind="market_payout", idempotency_key__startswith=f"mkt:{market.pk}:")
    assert entries.count() == len(winners)
    assert sum(e.amount for e in entries) == sum(p.amount for p in payouts) > 0
    assert_ledger_balanced()
    assert market_verify(market) == []


def test_two_workers_resolving_at_once_pay_once(tmp_path):
    market, users = resolvable_market()
    go = tmp_path / "go"
    connection.close()
    workers = [start("resolve", str(market.pk), "--go", str(go)) for _ in range(2)]
    for worker in workers:
        worker.wait_until(lambda: len(list(tmp_path.glob("ready-*"))) == 2, what="at the start line", every=0.02)
    go.write_text("go")
    assert [result(w)["state"] for w in workers] == ["resolved", "resolved"]
    assert_paid_once(market, users)


@pytest.mark.parametrize("pause_at", ["claimed", "paid", "before_commit"])
def test_a_worker_killed_inside_the_resolution_pays_nothing_and_the_retry_pays_once(tmp_path, pause_at):
    market, users = resolvable_market()
    before = balances()
    marker = tmp_path / "inside"
    worker = start("resolve", str(market.pk), "--pause-at", pause_at, "--marker", str(marker))
    worker.wait_until(marker.exists, what="inside the transaction", every=0.02)
    worker.kill()  # SIGKILL: no clean-up, the transaction never commits
    deadline = time.monotonic() + 30
    while Market.objects.get(pk=market.pk).state != "closed" or MarketPayout.objects.filter(market=market).exists():
        assert time.monotonic() < deadline, "the killed worker's transaction is still visible"
        time.sleep(0.05)
    assert balances() == before  # nothing paid
    market_resolve_task.run(market.pk)  # the task delivered again (acks_late) or the sweep
    assert_paid_once(market, users)
    paid = balances()
    market_resolve_task.run(market.pk)  # and once more: nothing more
    assert balances() == paid
    assert_paid_once(market, users)
