"""Acceptance: settlement twice at once, settlement killed mid-way and retried, two processes
racing one state transition — on real PostgreSQL, with threads and processes."""
from __future__ import annotations

import time

import pytest
from django.db import connection
from django.db.models import Sum

from apps.bets.models import Bet
from apps.points.models import LedgerEntry
from apps.races import lifecycle, settlement
from apps.races.models import Race, RaceTransition
from tests.races import procs
from tests.support import factories as f
from tests.support.ledger import assert_ledger_balanced, balances
from tests.support.threads import at_once

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
S = Race.State
PCT = {"AAA": 2.0, "BBB": 1.0, "CCC": -1.0, "DDD": -3.0}


def _settleable_race(players: int = 20):
    race = f.RaceFactory(state=S.CALCULATING)
    f.lock_results(race, PCT)
    users = [f.UserFactory(balance=2000) for _ in range(players)]
    for i, user in enumerate(users):
        f.BetFactory(race=race, user=user, symbol=["AAA", "BBB", "CCC", "DDD"][i % 4], stake=50 + i, odds="3.0")
        f.BetFactory(race=race, user=user, kind="bracket", symbol="AAA", low_pct=1.5, high_pct=2.5 + i % 3, stake=20, odds="5.0")
        f.BetFactory(race=race, user=user, kind="podium", podium=["AAA", "BBB", "CCC"] if i % 2 else ["BBB", "AAA", "CCC"], stake=10, odds="24")
    return race, users


def _assert_paid_exactly_once(race: Race, users) -> None:
    bets = list(Bet.objects.filter(race=race))
    assert all(b.status in (Bet.Status.WON, Bet.Status.LOST) for b in bets)
    entries = list(LedgerEntry.objects.filter(race=race, kind="payout"))
    assert sorted(e.bet_id for e in entries) == sorted(b.pk for b in bets if b.payout > 0)  # each exactly once
    assert {e.bet_id: e.amount for e in entries} == {b.pk: b.payout for b in bets if b.payout > 0}
    now = balances()
    # Settlement queues badge evaluation on commit (eager under tests): first bet/win rewards land too.
    rewards = dict(LedgerEntry.objects.filter(kind="badge_reward").values("user_id")
                   .annotate(total=Sum("amount")).values_list("user_id", "total"))
    for user in users:
        staked = sum(b.stake for b in bets if b.user_id == user.pk)
        won = sum(b.payout for b in bets if b.user_id == user.pk)
        assert now[user.pk] == 2000 - staked + won + rewards.get(user.pk, 0)
    assert_ledger_balanced()
    assert Race.objects.get(pk=race.pk).state == S.COMPLETED
    assert RaceTransition.objects.filter(race=race, to_state=S.COMPLETED).count() == 1


def test_settlement_run_twice_at_the_same_time_pays_once():
    race, users = _settleable_race()
    outcomes = at_once(2, lambda _: settlement.race_settle(race_id=race.pk))
    assert sorted(o is None for o in outcomes) == [False, True]  # one settled, the other found nothing to do
    _assert_paid_exactly_once(race, users)


def test_settlement_killed_mid_way_then_retried_pays_once(tmp_path):
    race, users = _settleable_race()
    before = balances()
    marker = tmp_path / "inside"
    # Paused after the payouts and balance credits were written, before the commit.
    worker = procs.start("settle", str(race.pk), "--pause-at", "paid", "--marker", str(marker))
    worker.wait_until(marker.exists, what="at the checkpoint", every=0.02)
    worker.kill()  # mid-transaction: payouts written but not committed

    # Nothing of the killed transaction survives; the race is still waiting to be settled.
    deadline = time.monotonic() + 30
    while Race.objects.get(pk=race.pk).state != S.CALCULATING or \
            LedgerEntry.objects.filter(race=race, kind="payout").exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert balances() == before

    retried = settlement.race_settle(race_id=race.pk)  # the task's retry
    assert retried is not None and retried.paid > 0
    _assert_paid_exactly_once(race, users)
    assert settlement.race_settle(race_id=race.pk) is None
    _assert_paid_exactly_once(race, users)


def test_two_processes_racing_one_transition_exactly_one_wins(tmp_path):
    race = f.RaceFactory(state=S.OPEN)
    player = f.UserFactory()
    f.BetFactory(race=race, user=player, symbol="AAA", stake=100)
    go = tmp_path / "go"
    connection.close()
    workers = [procs.start("transition", str(race.pk), "cancel", str(go)) for _ in range(2)]
    time.sleep(0.5)
    for worker in workers:  # both processes connected, waiting at the start line
        worker.wait_until(lambda: len(list(tmp_path.glob("ready-*"))) == 2, what="at the start line", every=0.02)
    go.write_text("go")
    results = [procs.result(w) for w in workers]
    assert sorted(r["won"] for r in results) == [False, True]
    assert RaceTransition.objects.filter(race=race, to_state=S.CANCELLED).count() == 1
    assert LedgerEntry.objects.filter(race=race, kind="refund").count() == 1  # refunded once
    assert balances()[player.pk] == 1000
    assert_ledger_balanced()


def test_two_threads_racing_the_start_exactly_one_wins():
    race = f.RaceFactory(state=S.OPEN)
    f.write_quotes({"AAA": 1.0, "BBB": 2.0, "CCC": 3.0, "DDD": 4.0})
    wins = at_once(4, lambda _: lifecycle.race_start(race_id=race.pk, now=race.starts_at))
    assert sorted(wins) == [False, False, False, True]
    assert RaceTransition.objects.filter(race=race, to_state=S.RUNNING).count() == 1
