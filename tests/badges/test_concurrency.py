"""Acceptance: two evaluations of the same race at the same instant, on real PostgreSQL with
threads — each badge is awarded once and each reward paid once."""
from __future__ import annotations

import pytest

from apps.badges.models import UserBadge
from apps.badges.services import badges_evaluate_race
from apps.points.models import LedgerEntry
from tests.badges.conftest import settled_race
from tests.support import factories as f
from tests.support.ledger import assert_ledger_balanced, balances
from tests.support.threads import at_once

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def run_at_once(*calls) -> list:
    return at_once(len(calls), lambda i: calls[i]())


def test_the_same_race_evaluated_twice_at_once_awards_and_pays_once(catalog, hold_badge_task):
    users = [f.UserFactory(balance=2000) for _ in range(12)]
    race = settled_race([(u, {"symbol": ["AAA", "BBB", "CCC", "DDD"][i % 4], "odds": "5.5"})
                         for i, u in enumerate(users)])
    before = balances()

    outcomes = run_at_once(*[lambda: badges_evaluate_race(race_id=race.pk)] * 2)

    awards = list(UserBadge.objects.values_list("user_id", "badge__code"))
    # first_bet for all; first_win, underdog and (tied first) top_of_field for the three who picked AAA
    assert len(awards) == len(set(awards)) == 12 + 3 * 3
    assert sorted(len(o.awards) for o in outcomes) == [0, len(awards)]  # one run did it all, the other nothing
    entries = LedgerEntry.objects.filter(kind="badge_reward")
    assert sorted(entries.values_list("idempotency_key", flat=True)) == sorted(
        f"badge:{code}:{user_id}" for user_id, code in awards)
    rewards = {b.code: b.reward for b in catalog.values()}
    for user in users:
        earned = sum(rewards[code] for user_id, code in awards if user_id == user.pk)
        assert balances()[user.pk] == before[user.pk] + earned
    assert_ledger_balanced()


def test_two_races_of_the_same_players_evaluated_at_once_award_each_badge_once(catalog, hold_badge_task):
    users = [f.UserFactory(balance=2000) for _ in range(8)]
    first = settled_race([(u, {"symbol": "AAA"}) for u in users])
    second = settled_race([(u, {"symbol": "AAA"}) for u in reversed(users)])

    run_at_once(lambda: badges_evaluate_race(race_id=first.pk), lambda: badges_evaluate_race(race_id=second.pk))

    for user in users:
        codes = list(UserBadge.objects.filter(user=user).values_list("badge__code", flat=True))
        assert sorted(codes) == ["first_bet", "first_win"]
    assert LedgerEntry.objects.filter(kind="badge_reward").count() == 16
    assert_ledger_balanced()
    assert sorted(hold_badge_task) == sorted([first.pk, second.pk])  # settlement did queue the task
