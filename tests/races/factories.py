"""Builders for race tests: stocks, funded players, races in any state, quotes and bets."""
from __future__ import annotations

import itertools
import time
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection, transaction

from apps.bets.models import Bet
from apps.core.redis import get_redis, redis_now
from apps.market.models import Stock
from apps.market.quotes import Quote, write_quote
from apps.points.models import LedgerEntry, PointsAccount
from apps.points.ledger import account_open, post as ledger_post
from apps.races.models import Race, RaceEntry
from apps.races.services import race_create

SYMBOLS = ["AAA", "BBB", "CCC", "DDD", "EEE"]
_seq = itertools.count(1)


def stocks(symbols=SYMBOLS, sector="Technology") -> list[Stock]:
    return [Stock.objects.get_or_create(symbol=s, defaults={"name": f"{s} Corp", "sector": sector,
                                                            "reference_price": Decimal("100")})[0]
            for s in symbols]


def funded_user(balance: int = 10_000, *, name: str | None = None, is_house: bool = False, **extra):
    user = get_user_model().objects.create(username=name or f"p{next(_seq)}-{time.monotonic_ns()}",
                                           is_house=is_house, **extra)
    account_open(user_id=user.pk)
    if balance:
        ledger_post(user_id=user.pk, amount=balance, kind=LedgerEntry.Kind.ADJUSTMENT,
                    key=f"fund:{user.pk}")
    return user


def set_quotes(prices: dict[str, float], *, at: float | None = None) -> None:
    client = get_redis()
    now = at or client.time()[0]
    pipe = client.pipeline()
    for symbol, price in prices.items():
        write_quote(pipe, Quote(symbol=symbol, price=price, bid=None, ask=None, volume=0, ts=now, recv=now))
    pipe.execute()


def race_in_state(state: str, *, symbols=SYMBOLS[:4], window_s: int = 60, duration: str = "5m") -> Race:
    """A race whose times put it exactly in ``state`` now (Redis time); prices locked as needed."""
    stocks(symbols)
    now = redis_now()
    if state == Race.State.SCHEDULED:
        start = now + timedelta(seconds=window_s + 60)
    elif state == Race.State.OPEN:
        start = now + timedelta(seconds=window_s // 2)
    else:  # running or later: started a minute ago
        start = now - timedelta(seconds=60)
    race = race_create(title="Test race", duration=duration, symbols=symbols, starts_at=start,
                       betting_window=timedelta(seconds=window_s))
    updates = {"state": state}
    if state in (Race.State.CALCULATING, Race.State.COMPLETED):
        updates.update(starts_at=now - timedelta(minutes=6), ends_at=now - timedelta(minutes=1),
                       betting_opens_at=now - timedelta(minutes=6, seconds=window_s))
    Race.objects.filter(pk=race.pk).update(**updates)
    if state in (Race.State.RUNNING, Race.State.CALCULATING):
        RaceEntry.objects.filter(race=race).update(open_price=Decimal("100"))
    race.refresh_from_db()
    return race


def lock_results(race: Race, pct: dict[str, float]) -> None:
    """Set the closing prices as race_finish would (open 100, close 100 × (1 + pct/100))."""
    order = sorted(pct, key=lambda s: -pct[s])
    for entry in RaceEntry.objects.filter(race=race).select_related("stock"):
        change = Decimal(str(pct[entry.stock.symbol]))
        RaceEntry.objects.filter(pk=entry.pk).update(open_price=Decimal("100"), close_price=Decimal("100") + change,
                                                     pct_change=change,
                                                     final_position=order.index(entry.stock.symbol) + 1)


def bet(race: Race, user, *, kind: str = "winner", stake: int = 100, odds: str = "2.0", symbol: str = "",
        low: float | None = None, high: float | None = None, podium: list[str] | None = None,
        placed_at: datetime | None = None) -> Bet:
    """A placed bet with its stake debited through the ledger (as bet placement does)."""
    with transaction.atomic():
        b = Bet.objects.create(user=user, race=race, kind=kind, stake=stake, symbol=symbol,
                               low_pct=None if low is None else Decimal(str(low)),
                               high_pct=None if high is None else Decimal(str(high)), podium=podium,
                               odds=Decimal(odds), potential_payout=int(stake * Decimal(odds)),
                               placed_at=placed_at or race.betting_opens_at + timedelta(seconds=1))
        ledger_post(user_id=user.pk, amount=-stake, kind=LedgerEntry.Kind.STAKE, key=f"bet:{b.pk}:stake",
                    race_id=race.pk, bet_id=b.pk)
    return b


def assert_ledger_balanced() -> None:
    """For every account, balance == SUM(ledger)."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT a.user_id, a.balance, COALESCE(SUM(l.amount), 0)
            FROM points_pointsaccount a LEFT JOIN points_ledgerentry l ON l.user_id = a.user_id
            GROUP BY a.user_id, a.balance HAVING a.balance <> COALESCE(SUM(l.amount), 0)
        """)
        bad = cursor.fetchall()
    assert bad == [], f"balance differs from the ledger sum: {bad}"


def balances() -> dict[int, int]:
    return dict(PointsAccount.objects.values_list("user_id", "balance"))
