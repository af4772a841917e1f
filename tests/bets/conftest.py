"""Factories for bet tests: stocks, an open race, players with a chosen balance."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Sum

from apps.core.redis import redis_now
from apps.market.models import Stock
from apps.points.models import LedgerEntry, PointsAccount
from apps.races.models import Race
from apps.races.services import race_create

SYMBOLS = ["AAPL", "MSFT", "TSLA", "NVDA"]


def make_stocks(symbols=SYMBOLS):
    for symbol in symbols:
        Stock.objects.get_or_create(symbol=symbol, defaults={"name": symbol, "sector": "Technology",
                                                             "reference_price": 100})


def make_race(*, state=Race.State.OPEN, symbols=SYMBOLS, starts_in=timedelta(minutes=5), title="Test race"):
    make_stocks(symbols)
    race = race_create(title=title, duration=Race.Duration.SPRINT_5M, symbols=symbols,
                       starts_at=redis_now() + starts_in, betting_window=timedelta(minutes=10))
    Race.objects.filter(pk=race.pk).update(state=state)
    race.refresh_from_db()
    return race


def make_player(username: str, balance: int | None = None):
    """A registered player; with ``balance``, the signup bonus is topped up or cut (through the ledger)."""
    from apps.accounts.services import user_register
    from apps.points.ledger import post as ledger_post

    user = user_register(username=username, password="correct-horse-battery")
    if balance is not None:
        current = PointsAccount.objects.get(user=user).balance
        if balance != current:
            ledger_post(user_id=user.pk, amount=balance - current, kind=LedgerEntry.Kind.ADJUSTMENT,
                        key=f"test-balance:{user.pk}")
    return user


def balance_and_ledger_sum(user_id: int) -> tuple[int, int]:
    balance = PointsAccount.objects.get(user_id=user_id).balance
    total = LedgerEntry.objects.filter(user_id=user_id).aggregate(s=Sum("amount"))["s"] or 0
    return balance, total


@pytest.fixture
def race(db):
    return make_race()


@pytest.fixture
def bettor(db):
    return make_player("bettor")


@pytest.fixture
def bettor_client(api_client, bettor):
    api_client.force_authenticate(bettor)
    return api_client
