"""The cleanup task: races stuck after a crash are completed or refunded, with nothing lost."""
from __future__ import annotations

from datetime import timedelta

import pytest

from apps.bets.models import Bet
from apps.core.redis import redis_now
from apps.points.models import LedgerEntry
from apps.races import cleanup, lifecycle
from apps.races.models import Race, RaceTransition
from tests.support import factories as f
from tests.support.ledger import assert_ledger_balanced, balances

pytestmark = pytest.mark.django_db
S = Race.State


def _stuck_running_race():
    """A race that started and whose worker died: still `running` long after its end."""
    race = f.RaceFactory(state=S.RUNNING)
    now = redis_now()
    Race.objects.filter(pk=race.pk).update(starts_at=now - timedelta(minutes=10), ends_at=now - timedelta(minutes=5),
                                           betting_opens_at=now - timedelta(minutes=11))
    players = [f.UserFactory() for _ in range(4)]
    bets = [f.BetFactory(race=race, user=p, symbol=s, stake=100, odds="3.0") for p, s in zip(players, ["AAA", "BBB", "CCC", "AAA"])]
    return race, players, bets


def test_race_stuck_in_running_is_completed_with_the_data_there_is():
    race, players, bets = _stuck_running_race()
    f.write_quotes({"AAA": 103.0, "BBB": 101.0, "CCC": 99.0, "DDD": 98.0})
    done = cleanup.races_cleanup()
    assert done["finished"] == 1
    race.refresh_from_db()
    assert race.state == S.CALCULATING
    # The settlement task enqueued after the finish is lost (this test's transaction never
    # commits, so on_commit never runs): the next cleanup, once it counts as stuck, settles it.
    RaceTransition.objects.filter(race=race, to_state=S.CALCULATING).update(at=redis_now() - timedelta(hours=1))
    assert cleanup.races_cleanup()["settled"] == 1
    race.refresh_from_db()
    assert race.state == S.COMPLETED
    assert race.needs_review and "after the end" in race.review_reason
    assert {b.status for b in Bet.objects.filter(race=race)} == {Bet.Status.WON, Bet.Status.LOST}
    won = Bet.objects.filter(race=race, status=Bet.Status.WON)
    assert sorted(won.values_list("symbol", flat=True)) == ["AAA", "AAA"]
    assert LedgerEntry.objects.filter(race=race, kind="payout").count() == 2
    assert_ledger_balanced()


def test_race_stuck_in_running_without_prices_is_refunded_in_full():
    race, players, bets = _stuck_running_race()
    done = cleanup.races_cleanup()  # no quotes at all in Redis
    race.refresh_from_db()
    assert race.state == S.CANCELLED and done["cancelled"] == 1
    assert "no closing price" in RaceTransition.objects.get(race=race, to_state=S.CANCELLED).cause
    assert all(b.status == Bet.Status.REFUNDED for b in Bet.objects.filter(race=race))
    assert all(balances()[p.pk] == 1000 for p in players)  # nothing lost
    assert LedgerEntry.objects.filter(race=race, kind="refund").count() == len(bets)
    assert_ledger_balanced()


def test_race_stuck_in_calculating_is_settled_by_cleanup():
    race = f.RaceFactory(state=S.CALCULATING)
    f.lock_results(race, {"AAA": 1.0, "BBB": 0.5, "CCC": 0.0, "DDD": -1.0})
    RaceTransition.objects.create(race=race, from_state=S.RUNNING, to_state=S.CALCULATING,
                                  at=redis_now() - timedelta(minutes=10), cause="test")
    player = f.UserFactory()
    f.BetFactory(race=race, user=player, symbol="AAA", stake=100)
    assert cleanup.races_cleanup()["settled"] == 1
    race.refresh_from_db()
    assert race.state == S.COMPLETED
    assert_ledger_balanced()


def test_calculating_race_whose_settlement_fails_is_cancelled_with_refunds():
    race = f.RaceFactory(state=S.CALCULATING)  # no closing results locked: scoring cannot run
    RaceTransition.objects.create(race=race, from_state=S.RUNNING, to_state=S.CALCULATING,
                                  at=redis_now() - timedelta(minutes=10), cause="test")
    player = f.UserFactory()
    f.BetFactory(race=race, user=player, symbol="AAA", stake=100)
    assert cleanup.races_cleanup()["cancelled"] == 1
    race.refresh_from_db()
    assert race.state == S.CANCELLED
    assert balances()[player.pk] == 1000
    assert_ledger_balanced()


def test_bet_left_open_in_a_cancelled_race_is_refunded():
    race = f.RaceFactory(state=S.OPEN)
    lifecycle.race_cancel(race_id=race.pk, cause="staff")
    player = f.UserFactory()
    f.BetFactory(race=race, user=player, symbol="AAA", stake=40)  # slipped in during the cancellation
    assert cleanup.races_cleanup()["refunded_late_bets"] == 1
    assert balances()[player.pk] == 1000
    assert_ledger_balanced()


def test_stuck_race_uses_the_price_snapshots_at_its_end_when_the_feed_has_them():
    from apps.feed.models import PriceSnapshot

    race, players, bets = _stuck_running_race()
    race.refresh_from_db()
    at_end = {"AAA": 99.0, "BBB": 100.5, "CCC": 104.0, "DDD": 98.0}  # CCC won at the end instant
    PriceSnapshot.objects.bulk_create(PriceSnapshot(symbol=s, ts=race.ends_at - timedelta(seconds=1), price=p)
                                      for s, p in at_end.items())
    f.write_quotes({"AAA": 150.0, "BBB": 100.0, "CCC": 90.0, "DDD": 100.0})  # long after: AAA leads now
    assert cleanup.races_cleanup()["finished"] == 1
    race.refresh_from_db()
    winner = race.entries.get(final_position=1)
    assert winner.stock.symbol == "CCC" and float(winner.close_price) == 104.0
    assert race.needs_review and "snapshots" in race.review_reason


def test_race_overlapping_a_recorded_data_gap_is_flagged_for_review():
    from apps.feed.models import DataGap

    race = f.RaceFactory(state=Race.State.RUNNING)
    race.refresh_from_db()
    DataGap.objects.create(start=race.starts_at + timedelta(seconds=5), end=race.starts_at + timedelta(seconds=20),
                           symbols=["AAA"])
    f.write_quotes({"AAA": 101.0, "BBB": 100.0, "CCC": 99.0, "DDD": 98.0})
    lifecycle.race_finish(race_id=race.pk, now=race.ends_at)
    race.refresh_from_db()
    assert race.needs_review and "data gap" in race.review_reason
