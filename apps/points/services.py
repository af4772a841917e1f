"""Every change of a balance goes through ledger_post: one entry, one conditional UPDATE,
one transaction, one idempotency key."""
from __future__ import annotations

from django.db import IntegrityError, connection, transaction

from apps.points.models import LedgerEntry, PointsAccount


class InsufficientPoints(Exception):
    def __init__(self, balance: int, needed: int):
        super().__init__(f"Not enough points: you have {balance}, this needs {needed}.")
        self.balance = balance
        self.needed = needed


def account_open(*, user_id: int) -> None:
    PointsAccount.objects.get_or_create(user_id=user_id)


def ledger_post(*, user_id: int, amount: int, kind: str, idempotency_key: str, race_id: int | None = None,
                bet_id: int | None = None, memo: str = "") -> tuple[LedgerEntry, bool]:
    """Credit (amount > 0) or debit (amount < 0) a player's points.

    Returns (entry, created). A second call with the same key returns the first entry and
    changes nothing. A debit that would overdraw raises InsufficientPoints and writes nothing.
    Runs in its own savepoint, so callers may wrap it in a larger transaction.
    """
    if amount == 0:
        raise ValueError("a ledger entry moves a non-zero amount")
    existing = LedgerEntry.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE points_pointsaccount SET balance = balance + %s, updated_at = now() "
                    "WHERE user_id = %s AND balance + %s >= 0 RETURNING balance",
                    [amount, user_id, amount],
                )
                row = cursor.fetchone()
            if row is None:
                balance = PointsAccount.objects.filter(user_id=user_id).values_list("balance", flat=True).first()
                if balance is None:
                    raise PointsAccount.DoesNotExist(f"user {user_id} has no points account")
                raise InsufficientPoints(balance, -amount)
            entry = LedgerEntry.objects.create(user_id=user_id, amount=amount, kind=kind,
                                               idempotency_key=idempotency_key, balance_after=row[0],
                                               race_id=race_id, bet_id=bet_id, memo=memo)
    except IntegrityError:
        # Someone posted the same key between our check and our insert: theirs stands.
        existing = LedgerEntry.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return existing, False
    return entry, True


def signup_bonus_grant(user) -> None:
    """Registration hook: open the account and credit SIGNUP_BONUS once."""
    from django.conf import settings

    account_open(user_id=user.pk)
    if settings.SIGNUP_BONUS > 0:
        ledger_post(user_id=user.pk, amount=settings.SIGNUP_BONUS, kind=LedgerEntry.Kind.SIGNUP_BONUS,
                    idempotency_key=f"signup:{user.pk}", memo="Welcome to StockRace")
