"""The state machine: each transition once, prices locked, recorded with time and cause."""
from __future__ import annotations

from datetime import timedelta

import pytest

from apps.bets.models import Bet
from apps.core.redis import redis_now
from apps.points.models import LedgerEntry
from apps.races import lifecycle
from apps.races.models import Race, RaceEntry, RaceTransition
from tests.support import factories as f
from tests.support.ledger import assert_ledger_balanced, balances

pytestmark = pytest.mark.django_db
S = Race.State


def test_open_start_finish_lock_prices_and_record_each_transition():
    race = f.RaceFactory(state=S.SCHEDULED)
    now = redis_now()
    assert lifecycle.race_open(race_id=race.pk, now=now) is False  # not yet due
    assert lifecycle.race_open(race_id=race.pk, now=race.betting_opens_at) is True
    assert lifecycle.race_open(race_id=race.pk, now=race.betting_opens_at) is False  # twice changes nothing

    f.write_quotes({"AAA": 10.0, "BBB": 20.0, "CCC": 30.0, "DDD": 40.0})
    assert lifecycle.race_start(race_id=race.pk, now=race.starts_at) is True
    assert lifecycle.race_start(race_id=race.pk, now=race.starts_at) is False
    opens = dict(RaceEntry.objects.filter(race=race).values_list("stock__symbol", "open_price"))
    assert {s: float(p) for s, p in opens.items()} == {"AAA": 10.0, "BBB": 20.0, "CCC": 30.0, "DDD": 40.0}

    f.write_quotes({"AAA": 11.0, "BBB": 19.0, "CCC": 33.3, "DDD": 40.0})
    assert lifecycle.race_finish(race_id=race.pk, now=race.ends_at) is True
    assert lifecycle.race_finish(race_id=race.pk, now=race.ends_at) is False
    entries = {e.stock.symbol: e for e in RaceEntry.objects.filter(race=race).select_related("stock")}
    assert [s for s, _ in sorted(((s, e.final_position) for s, e in entries.items()), key=lambda x: x[1])] == [
        "CCC", "AAA", "DDD", "BBB"]
    assert float(entries["CCC"].pct_change) == 11.0
    assert float(entries["BBB"].pct_change) == -5.0

    race.refresh_from_db()
    assert race.state == S.CALCULATING
    steps = list(RaceTransition.objects.filter(race=race).values_list("from_state", "to_state", "at", "cause"))
    assert [(a, b) for a, b, _, _ in steps] == [(S.SCHEDULED, S.OPEN), (S.OPEN, S.RUNNING),
                                                (S.RUNNING, S.CALCULATING)]
    assert [at for _, _, at, _ in steps] == [race.betting_opens_at, race.starts_at, race.ends_at]
    assert all(cause for *_, cause in steps)


def test_race_without_opening_prices_is_cancelled_with_refunds():
    race = f.RaceFactory(state=S.OPEN)
    player = f.UserFactory()
    f.BetFactory(race=race, user=player, symbol="AAA", stake=100)
    f.write_quotes({"AAA": 10.0, "BBB": 20.0})  # CCC and DDD have no quote
    lifecycle.race_start(race_id=race.pk, now=race.starts_at)
    race.refresh_from_db()
    assert race.state == S.CANCELLED
    transition = RaceTransition.objects.get(race=race, to_state=S.CANCELLED)
    assert "no opening price for CCC, DDD" in transition.cause
    assert Bet.objects.get(race=race).status == Bet.Status.REFUNDED
    assert LedgerEntry.objects.filter(kind="refund", race=race).count() == 1
    assert balances()[player.pk] == 1000
    assert_ledger_balanced()


def test_cancel_refunds_each_bet_once():
    race = f.RaceFactory(state=S.OPEN)
    players = [f.UserFactory() for _ in range(3)]
    for p in players:
        f.BetFactory(race=race, user=p, symbol="AAA", stake=70)
        f.BetFactory(race=race, user=p, kind="bracket", symbol="BBB", low_pct=-1, high_pct=1, stake=30)
    assert lifecycle.race_cancel(race_id=race.pk, cause="staff: test") is True
    assert lifecycle.race_cancel(race_id=race.pk, cause="staff: again") is False
    assert LedgerEntry.objects.filter(kind="refund", race=race).count() == 6
    assert all(balances()[p.pk] == 1000 for p in players)
    assert_ledger_balanced()


def test_advance_makes_every_due_transition_in_order():
    race = f.RaceFactory(state=S.SCHEDULED)
    f.write_quotes({"AAA": 10.0, "BBB": 20.0, "CCC": 30.0, "DDD": 40.0})
    entered = lifecycle.race_advance(race_id=race.pk, now=race.starts_at + timedelta(seconds=1))
    assert entered == [S.OPEN, S.RUNNING]
    assert lifecycle.race_advance(race_id=race.pk, now=race.starts_at + timedelta(seconds=1)) == []


def test_review_reasons_accumulate():
    race = f.RaceFactory(state=S.OPEN)
    old = redis_now().timestamp() - 3600
    f.write_quotes({"AAA": 10.0, "BBB": 20.0, "CCC": 30.0, "DDD": 40.0}, at=old)  # a feed silent for an hour
    lifecycle.race_start(race_id=race.pk, now=race.starts_at)
    lifecycle.race_finish(race_id=race.pk, now=race.ends_at + timedelta(minutes=2))
    race.refresh_from_db()
    assert race.needs_review
    assert race.review_reason.startswith("opening prices were stale") and "after the end" in race.review_reason
