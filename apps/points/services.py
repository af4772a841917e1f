"""Every change of a balance goes through ledger_post: one entry, one conditional UPDATE,
one transaction, one idempotency key.

The one exception is a bet's stake: apps.bets.services.bet_place debits it with the same
rules (a conditional UPDATE and its ``stake`` entry in one transaction) in the statement that
also enforces the bet cooldown.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from apps.core.redis import redis_now
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
    account_open(user_id=user.pk)
    if settings.SIGNUP_BONUS > 0:
        ledger_post(user_id=user.pk, amount=settings.SIGNUP_BONUS, kind=LedgerEntry.Kind.SIGNUP_BONUS,
                    idempotency_key=f"signup:{user.pk}", memo="Welcome to StockRace")


def ny_today(now: datetime | None = None) -> date:
    """Today's date in New York (the market's calendar), by Redis time unless given."""
    return (now or redis_now()).astimezone(ZoneInfo(settings.MARKET_TIME_ZONE)).date()


def daily_bonus_grant(*, user_id: int, now: datetime | None = None) -> LedgerEntry | None:
    """Credit DAILY_LOGIN_BONUS once per player per New York day; None when already granted
    today (or the bonus is off). Concurrent logins race on the entry's idempotency key, so the
    bonus is paid once whatever happens."""
    if settings.DAILY_LOGIN_BONUS <= 0:
        return None
    day = ny_today(now)
    key = f"daily:{user_id}:{day.isoformat()}"
    if LedgerEntry.objects.filter(idempotency_key=key).exists():
        return None  # the common case (a second login today) costs one indexed read
    account_open(user_id=user_id)
    entry, created = ledger_post(user_id=user_id, amount=settings.DAILY_LOGIN_BONUS,
                                 kind=LedgerEntry.Kind.DAILY_BONUS, idempotency_key=key,
                                 memo=f"Daily login bonus for {day:%a %d %b %Y}")
    return entry if created else None


def points_adjust(*, user_id: int, amount: int, reason: str, idempotency_key: str | None = None,
                  actor: str = "") -> tuple[LedgerEntry, bool]:
    """An operator's or staff member's correction of a balance, as a ledger entry.

    Each call is a new adjustment unless it repeats an ``idempotency_key`` (a retried command
    passes the same key and changes nothing the second time). A debit below zero raises
    InsufficientPoints.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("An adjustment needs a reason.")
    if amount == 0:
        raise ValueError("An adjustment moves a non-zero amount.")
    account_open(user_id=user_id)
    key = f"adjust:{idempotency_key or uuid.uuid4().hex}"
    memo = f"{reason} ({actor})" if actor else reason
    return ledger_post(user_id=user_id, amount=amount, kind=LedgerEntry.Kind.ADJUSTMENT, idempotency_key=key,
                       memo=memo[:200])
