"""Awards pay their reward once, in the ledger, in the award's transaction; evaluation is idempotent."""
from __future__ import annotations

import pytest
from django.db import transaction

from apps.badges.models import Badge, UserBadge
from apps.badges.services import badge_catalog_sync, badges_evaluate_race
from apps.points.models import LedgerEntry
from tests.badges.conftest import held, settled_race
from tests.support import factories as f
from tests.support.ledger import assert_ledger_balanced, balances

pytestmark = pytest.mark.django_db


def test_each_award_is_one_reward_entry_credited_to_the_balance(catalog):
    alice = f.UserFactory()
    race = settled_race([(alice, {"symbol": "AAA", "odds": "3.0", "stake": 100})])
    before = balances()[alice.pk]
    result = badges_evaluate_race(race_id=race.pk)

    rewards = {e.idempotency_key: e for e in LedgerEntry.objects.filter(user=alice, kind="badge_reward")}
    expected = catalog["first_bet"].reward + catalog["first_win"].reward
    assert set(rewards) == {f"badge:first_bet:{alice.pk}", f"badge:first_win:{alice.pk}"}
    assert all(e.race_id == race.pk and e.memo.startswith("Badge: ") for e in rewards.values())
    assert (result.rewards, result.points) == (2, expected)
    assert balances()[alice.pk] == before + expected
    # balance_after follows the entries in order, ending at the balance.
    assert max(e.balance_after for e in rewards.values()) == before + expected
    assert_ledger_balanced()


def test_evaluating_again_awards_and_pays_nothing(catalog):
    alice, bob = f.UserFactory.create_batch(2, balance=10_000)
    race = settled_race([(alice, {"symbol": "AAA"}), (bob, {"symbol": "CCC"})])
    first = badges_evaluate_race(race_id=race.pk)
    before = balances()
    entries = LedgerEntry.objects.count()

    second = badges_evaluate_race(race_id=race.pk)
    assert len(first.awards) == 3 and second.awards == [] and second.points == 0
    assert balances() == before and LedgerEntry.objects.count() == entries
    assert UserBadge.objects.count() == 3


def test_a_badge_earned_again_after_a_revoke_is_not_paid_twice(catalog):
    alice = f.UserFactory(balance=10_000)
    first_race = settled_race([(alice, {"symbol": "DDD"})])
    badges_evaluate_race(race_id=first_race.pk)
    UserBadge.objects.filter(user=alice).delete()  # staff revoked it by hand (SQL)

    second_race = settled_race([(alice, {"symbol": "DDD"})])
    balance = balances()[alice.pk]
    badges_evaluate_race(race_id=second_race.pk)
    assert UserBadge.objects.get(user=alice, badge__code="first_bet").race_id == second_race.pk
    assert LedgerEntry.objects.filter(idempotency_key=f"badge:first_bet:{alice.pk}").count() == 1
    assert balances()[alice.pk] == balance
    assert_ledger_balanced()


def test_the_reward_staff_set_is_paid_and_a_zero_reward_writes_no_entry(catalog):
    Badge.objects.filter(code="first_bet").update(reward=0)
    Badge.objects.filter(code="first_win").update(reward=777)
    alice = f.UserFactory(balance=10_000)
    race = settled_race([(alice, {"symbol": "AAA"})])
    before = balances()[alice.pk]
    badges_evaluate_race(race_id=race.pk)
    assert held(alice) == {"first_bet", "first_win"}
    assert list(LedgerEntry.objects.filter(user=alice, kind="badge_reward").values_list("amount", flat=True)) == [777]
    assert balances()[alice.pk] == before + 777


def test_an_award_rolled_back_leaves_no_badge_and_no_points(catalog):
    alice = f.UserFactory(balance=10_000)
    race = settled_race([(alice, {"symbol": "AAA"})])
    before = balances()[alice.pk]
    with pytest.raises(RuntimeError), transaction.atomic():
        badges_evaluate_race(race_id=race.pk)
        raise RuntimeError("the enclosing transaction fails")
    assert held(alice) == set() and balances()[alice.pk] == before
    assert not LedgerEntry.objects.filter(kind="badge_reward").exists()


def test_catalog_sync_is_idempotent_and_keeps_staff_edits(db):
    from apps.badges.catalog import CATALOG

    # The data migration put the whole catalog there.
    assert set(Badge.objects.values_list("code", flat=True)) == {s.code for s in CATALOG}
    Badge.objects.filter(code="jackpot").update(name="Big Win", reward=1000, active=False, icon="x")
    Badge.objects.filter(code="regular").delete()

    result = badge_catalog_sync()
    assert result.created == ["regular"] and set(result.updated) == {"jackpot"}
    jackpot = Badge.objects.get(code="jackpot")
    assert (jackpot.name, jackpot.reward, jackpot.active, jackpot.icon) == ("Big Win", 1000, False, "💰")
    again = badge_catalog_sync()
    assert again.created == [] and again.updated == []  # nothing changed, nothing written
    assert Badge.objects.count() == len(CATALOG)


def test_evaluation_restores_a_missing_catalog(db):
    Badge.objects.all().delete()
    alice = f.UserFactory(balance=10_000)
    race = settled_race([(alice, {"symbol": "AAA"})])
    badges_evaluate_race(race_id=race.pk)
    assert held(alice) == {"first_bet", "first_win"}
