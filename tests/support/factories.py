"""factory-boy factories for the test data every suite needs: players funded through the
ledger, stocks, races in any state (made by ``race_create``, then put in their state), bets with
their stake debited through the ledger, and live quotes in Redis.

    from tests.support.factories import BetFactory, RaceFactory, UserFactory

    player = UserFactory(balance=500)              # account opened, 500 credited (one entry)
    house = UserFactory(house=True)                # a house bettor
    race = RaceFactory(state=Race.State.OPEN)      # AAA..DDD, betting open, starts in 30 s
    race = RaceFactory(state="running", symbols=["AAPL", "MSFT", "NVDA"], open_prices=[100, 50, 10])
    bet = BetFactory(race=race, user=player, symbol="AAA", stake=100)
    write_quotes({"AAA": 101.5, "BBB": 99.0})

A suite with other habits subclasses a factory with its own defaults (tests/live/factories.py).
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.db import transaction
from factory.django import DjangoModelFactory

from apps.bets.models import Bet
from apps.core.redis import get_redis, redis_now, redis_now_ts
from apps.market.models import Stock
from apps.market.quotes import Quote, write_quote
from apps.points import ledger
from apps.points.models import LedgerEntry
from apps.races.models import Race, RaceEntry
from apps.races.services import race_create

PASSWORD = "correct-horse-battery"  # every factory user's password (fast hasher under tests)
SYMBOLS = ("AAA", "BBB", "CCC", "DDD")
S = Race.State


class UserFactory(DjangoModelFactory):
    """A player with a points account holding ``balance`` points (default 1,000, like the signup
    bonus), credited as one ledger adjustment. ``house=True`` makes a house bettor."""

    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    class Params:
        house = factory.Trait(is_house=True)

    username = factory.Sequence(lambda n: f"player-{n}")
    password = factory.django.Password(PASSWORD)
    is_house = False

    @factory.post_generation
    def balance(user, create, extracted, **kwargs):
        if not create:
            return
        ledger.account_open(user_id=user.pk)
        amount = 1000 if extracted is None else int(extracted)
        if amount:
            ledger.credit(user_id=user.pk, amount=amount, kind=LedgerEntry.Kind.ADJUSTMENT, key=f"test-fund:{user.pk}",
                          memo="test funding")


class StockFactory(DjangoModelFactory):
    """A listed stock; an existing symbol is reused (get-or-create)."""

    class Meta:
        model = Stock
        django_get_or_create = ("symbol",)

    symbol = factory.Sequence(lambda n: f"T{n:03d}")
    name = factory.LazyAttribute(lambda o: f"{o.symbol} Corp")
    sector = "Technology"
    reference_price = Decimal("100")


def _default_start(state: str, window: timedelta) -> timedelta:
    """Where a race of ``state`` starts relative to now, so that it is in that state."""
    if state == S.SCHEDULED:
        return window + timedelta(seconds=60)  # betting opens in a minute
    if state == S.OPEN:
        return window / 2  # betting opened half a window ago
    if state in (S.CALCULATING, S.COMPLETED):
        return timedelta(minutes=-6)  # a 5-minute race that ended a minute ago
    return timedelta(seconds=-60)  # running (or cancelled): started a minute ago


class RaceFactory(DjangoModelFactory):
    """A race created by ``race_create`` (entries in lane order on ``symbols``, stocks made as
    needed), then put in ``state`` with times that match it on Redis's clock.

    ``starts_in`` / ``ends_in`` (timedeltas from now) override the times; ``window`` is the
    betting window; ``open_prices`` (one per lane) are locked when given, and default to 100
    for running and calculating races. Other keyword arguments are Race fields set afterwards.
    """

    class Meta:
        model = Race

    title = "Test race"
    duration = Race.Duration.SPRINT_5M
    theme = ""
    state = S.OPEN
    symbols = SYMBOLS
    window = timedelta(seconds=60)
    starts_in = None
    ends_in = None
    open_prices = None

    @classmethod
    def _create(cls, model_class, *, title, duration, theme, state, symbols, window, starts_in, ends_in,
                open_prices, **fields):
        symbols = list(symbols)
        for symbol in symbols:
            StockFactory(symbol=symbol)
        now = redis_now()
        start = now + (starts_in if starts_in is not None else _default_start(state, window))
        race = race_create(title=title, duration=duration, symbols=symbols, starts_at=start, theme=theme,
                           betting_window=window)
        updates = {"state": state, **fields}
        if ends_in is not None:
            updates["ends_at"] = now + ends_in
        model_class.objects.filter(pk=race.pk).update(**updates)
        if open_prices is None and state in (S.RUNNING, S.CALCULATING):
            open_prices = [100] * len(symbols)
        for lane, price in enumerate(open_prices or (), start=1):
            RaceEntry.objects.filter(race=race, lane=lane).update(open_price=Decimal(str(price)))
        race.refresh_from_db()
        return race


def lock_results(race: Race, pct: dict[str, float]) -> None:
    """Set the closing prices as race_finish would (open 100, close 100 × (1 + pct/100)) and
    the finishing order."""
    order = sorted(pct, key=lambda s: -pct[s])
    for entry in RaceEntry.objects.filter(race=race).select_related("stock"):
        change = Decimal(str(pct[entry.stock.symbol]))
        RaceEntry.objects.filter(pk=entry.pk).update(open_price=Decimal("100"), close_price=Decimal("100") + change,
                                                     pct_change=change,
                                                     final_position=order.index(entry.stock.symbol) + 1)


class BetFactory(DjangoModelFactory):
    """A placed bet with its stake debited through the ledger, as bet placement does (no odds
    or stake-cap checks: tests of those go through ``bet_place``). ``low_pct`` / ``high_pct``
    may be floats."""

    class Meta:
        model = Bet

    race = factory.SubFactory(RaceFactory)
    user = factory.SubFactory(UserFactory)
    kind = Bet.Kind.WINNER
    stake = 100
    symbol = factory.LazyAttribute(lambda o: "" if o.kind == Bet.Kind.PODIUM else
                                   o.race.entries.order_by("lane").values_list("stock__symbol", flat=True).first())
    low_pct = None
    high_pct = None
    podium = None
    odds = Decimal("2.0")
    potential_payout = factory.LazyAttribute(lambda o: int(o.stake * Decimal(str(o.odds))))
    placed_at = factory.LazyAttribute(lambda o: o.race.betting_opens_at + timedelta(seconds=1))

    @classmethod
    def _create(cls, model_class, *, low_pct, high_pct, odds, **fields):
        with transaction.atomic():
            bet = model_class.objects.create(
                low_pct=None if low_pct is None else Decimal(str(low_pct)),
                high_pct=None if high_pct is None else Decimal(str(high_pct)), odds=Decimal(str(odds)), **fields)
            ledger.debit(user_id=bet.user_id, amount=bet.stake, kind=LedgerEntry.Kind.STAKE, key=f"bet:{bet.pk}:stake",
                         race_id=bet.race_id, bet_id=bet.pk)
        return bet


def write_quotes(prices: dict[str, float], *, age: float = 0.0, at: float | None = None,
                 spread: float | None = None, volume: int = 0) -> None:
    """Live quotes in Redis, as the market-data worker writes them: taken ``age`` seconds ago
    (or at the Redis timestamp ``at``), with bid/ask ``spread`` either side when given."""
    client = get_redis()
    now = at if at is not None else redis_now_ts(client) - age
    pipe = client.pipeline(transaction=False)
    for symbol, price in prices.items():
        bid, ask = (None, None) if spread is None else (price - spread, price + spread)
        write_quote(pipe, Quote(symbol=symbol, price=price, bid=bid, ask=ask, volume=volume, ts=now, recv=now))
    pipe.execute()
