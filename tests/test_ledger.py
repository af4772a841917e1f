"""The points ledger: balance == sum of entries, idempotent posts, no overdraft, append-only."""

import pytest
from django.db import DatabaseError, transaction

from apps.points.ledger import InsufficientPoints, post as ledger_post
from apps.points.models import LedgerEntry
from tests.support.ledger import assert_ledger_balanced
from tests.support.threads import at_once


@pytest.mark.django_db
def test_signup_credits_the_bonus_once(player, settings):
    assert_ledger_balanced(player, balance=settings.SIGNUP_BONUS)
    entry, created = ledger_post(user_id=player.pk, amount=settings.SIGNUP_BONUS, kind="signup_bonus",
                                 key=f"signup:{player.pk}")
    assert not created and entry.kind == "signup_bonus"
    assert_ledger_balanced(player, balance=settings.SIGNUP_BONUS)


@pytest.mark.django_db
def test_overdraft_is_refused_and_writes_nothing(player, settings):
    with pytest.raises(InsufficientPoints) as excinfo:
        ledger_post(user_id=player.pk, amount=-(settings.SIGNUP_BONUS + 1), kind="stake", key="too-much")
    assert excinfo.value.balance == settings.SIGNUP_BONUS
    assert not LedgerEntry.objects.filter(idempotency_key="too-much").exists()
    assert_ledger_balanced(player, balance=settings.SIGNUP_BONUS)


@pytest.mark.django_db
def test_ledger_rows_cannot_be_changed_or_deleted(player):
    entry = LedgerEntry.objects.get(user=player)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).delete()


@pytest.mark.django_db(transaction=True)
def test_concurrent_debits_never_overdraw(player, settings):
    """40 threads each try to take 100 of a 1000 balance: exactly 10 succeed."""
    assert settings.SIGNUP_BONUS == 1000

    def debit(i):
        try:
            ledger_post(user_id=player.pk, amount=-100, kind="stake", key=f"debit:{i}")
            return "ok"
        except InsufficientPoints:
            return "refused"

    results = at_once(40, debit)
    assert results.count("ok") == 10 and results.count("refused") == 30
    assert_ledger_balanced(player, balance=0)


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_with_one_key_apply_once(player, settings):
    at_once(8, lambda _: ledger_post(user_id=player.pk, amount=50, kind="adjustment", key="same-key"))
    assert LedgerEntry.objects.filter(idempotency_key="same-key").count() == 1
    assert_ledger_balanced(player, balance=settings.SIGNUP_BONUS + 50)
