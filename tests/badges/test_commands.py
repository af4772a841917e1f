"""Operators: award_badges (all completed races or one) and sync_badges, both idempotent."""
from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.badges.models import Badge, UserBadge
from apps.points.models import LedgerEntry
from apps.races.models import Race
from tests.badges.conftest import held, settled_race
from tests.support import factories as f
from tests.support.ledger import assert_ledger_balanced

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_award_badges_evaluates_every_completed_race_once(catalog):
    alice, bob = f.UserFactory.create_batch(2, balance=10_000)
    first = settled_race([(alice, {"symbol": "AAA"})])
    second = settled_race([(bob, {"symbol": "DDD"})])
    open_race = f.RaceFactory(state=Race.State.OPEN)
    f.BetFactory(race=open_race, user=bob, symbol="AAA")

    output = run("award_badges", "--no-notify")
    assert f"[1/2] race {first.pk}: 2 badges awarded" in output and f"[2/2] race {second.pk}: 1 badges awarded" in output
    assert "2 races evaluated: 3 badges awarded, 3 rewards" in output
    assert held(alice) == {"first_bet", "first_win"} and held(bob) == {"first_bet"}
    entries = LedgerEntry.objects.filter(kind="badge_reward").count()

    again = run("award_badges")
    assert "2 races evaluated: 0 badges awarded, 0 rewards, 0 points" in again
    assert UserBadge.objects.count() == 3 and LedgerEntry.objects.filter(kind="badge_reward").count() == entries
    assert_ledger_balanced()


def test_award_badges_for_one_race(catalog):
    alice = f.UserFactory(balance=10_000)
    first = settled_race([(alice, {"symbol": "DDD"})])
    second = settled_race([(alice, {"symbol": "AAA"})])
    output = run("award_badges", "--race", str(second.pk))
    assert "1 races evaluated: 2 badges awarded" in output
    # Only the second race was evaluated: even first_bet, which the first race earned, is credited to it.
    assert set(UserBadge.objects.values_list("race_id", flat=True)) == {second.pk}
    assert "0 badges awarded" in run("award_badges", "--race", str(first.pk))


def test_award_badges_refuses_a_missing_or_unfinished_race(catalog):
    race = f.RaceFactory(state=Race.State.RUNNING)
    with pytest.raises(CommandError, match=f"Race {race.pk} is running"):
        run("award_badges", "--race", str(race.pk))
    with pytest.raises(CommandError, match="There is no race 999999"):
        run("award_badges", "--race", "999999")


def test_sync_badges_adds_missing_badges_and_is_idempotent(db):
    Badge.objects.filter(code="veteran").delete()
    assert "added veteran" in run("sync_badges")
    assert "0 badges added" in run("sync_badges")
    assert Badge.objects.filter(code="veteran", active=True).exists()
