"""The points ledger: balance == sum of entries, idempotent posts, no overdraft, append-only."""
import threading

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import Sum

from apps.points.models import LedgerEntry, PointsAccount
from apps.points.ledger import InsufficientPoints, post as ledger_post


def balance_and_sum(user_id):
    balance = PointsAccount.objects.get(user_id=user_id).balance
    total = LedgerEntry.objects.filter(user_id=user_id).aggregate(s=Sum("amount"))["s"] or 0
    return balance, total


@pytest.mark.django_db
def test_signup_credits_the_bonus_once(player, settings):
    balance, total = balance_and_sum(player.pk)
    assert balance == total == settings.SIGNUP_BONUS
    entry, created = ledger_post(user_id=player.pk, amount=settings.SIGNUP_BONUS, kind="signup_bonus",
                                 key=f"signup:{player.pk}")
    assert not created and entry.kind == "signup_bonus"
    assert balance_and_sum(player.pk) == (settings.SIGNUP_BONUS, settings.SIGNUP_BONUS)


@pytest.mark.django_db
def test_overdraft_is_refused_and_writes_nothing(player, settings):
    with pytest.raises(InsufficientPoints) as excinfo:
        ledger_post(user_id=player.pk, amount=-(settings.SIGNUP_BONUS + 1), kind="stake", key="too-much")
    assert excinfo.value.balance == settings.SIGNUP_BONUS
    assert not LedgerEntry.objects.filter(idempotency_key="too-much").exists()
    assert balance_and_sum(player.pk) == (settings.SIGNUP_BONUS, settings.SIGNUP_BONUS)


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
    results = []

    def debit(i):
        try:
            ledger_post(user_id=player.pk, amount=-100, kind="stake", key=f"debit:{i}")
            results.append("ok")
        except InsufficientPoints:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=debit, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 10 and results.count("refused") == 30
    assert balance_and_sum(player.pk) == (0, 0)


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_with_one_key_apply_once(player, settings):
    barrier = threading.Barrier(8)

    def credit():
        barrier.wait()
        try:
            ledger_post(user_id=player.pk, amount=50, kind="adjustment", key="same-key")
        finally:
            connection.close()

    threads = [threading.Thread(target=credit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert LedgerEntry.objects.filter(idempotency_key="same-key").count() == 1
    assert balance_and_sum(player.pk) == (settings.SIGNUP_BONUS + 50, settings.SIGNUP_BONUS + 50)
