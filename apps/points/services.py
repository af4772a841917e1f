"""Points services: the signup and daily bonuses and staff adjustments.

Every one of them moves points through apps.points.ledger, the one module that writes the
ledger (a conditional UPDATE and its entry in one transaction, with an idempotency key).
"""
from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings

from apps.core.redis import redis_now
from apps.points import ledger
from apps.points.models import LedgerEntry


def signup_bonus_grant(user) -> None:
    """Registration hook: open the account and credit SIGNUP_BONUS once."""
    ledger.account_open(user_id=user.pk)
    if settings.SIGNUP_BONUS > 0:
        ledger.post(user_id=user.pk, amount=settings.SIGNUP_BONUS, kind=LedgerEntry.Kind.SIGNUP_BONUS,
                    key=f"signup:{user.pk}", memo="Welcome to StockRace")


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
    ledger.account_open(user_id=user_id)
    entry, created = ledger.post(user_id=user_id, amount=settings.DAILY_LOGIN_BONUS,
                                 kind=LedgerEntry.Kind.DAILY_BONUS, key=key,
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
    ledger.account_open(user_id=user_id)
    key = f"adjust:{idempotency_key or uuid.uuid4().hex}"
    memo = f"{reason} ({actor})" if actor else reason
    return ledger.post(user_id=user_id, amount=amount, kind=LedgerEntry.Kind.ADJUSTMENT, key=key,
                       memo=memo[:200])
