"""Settlement scores in SQL; apps.races.scoring is the reference. They agree bet for bet."""
from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest

from apps.bets import pricing
from apps.bets.models import Bet
from apps.leaderboards.models import PlayerStreak
from apps.races import scoring, settlement
from apps.races.models import Race
from apps.races.selectors import bet_breakdown
from tests.support import factories as f

pytestmark = pytest.mark.django_db
SYMBOLS = ["AAA", "BBB", "CCC", "DDD", "EEE"]


@pytest.mark.parametrize("seed", [1, 3])
def test_sql_settlement_equals_the_reference_scoring(seed):
    rng = random.Random(seed)
    race = f.RaceFactory(state=Race.State.CALCULATING, symbols=SYMBOLS, window=timedelta(seconds=rng.choice([60, 300, 3600])))
    pct = {s: round(rng.uniform(-3, 3), 4) for s in SYMBOLS}
    if seed == 3:
        pct["BBB"] = pct["AAA"]  # a tie: the lower lane finishes first
    f.lock_results(race, pct)
    order = scoring.final_order(pct, {s: i for i, s in enumerate(SYMBOLS)})
    from apps.races.models import RaceEntry

    for symbol, position in RaceEntry.objects.filter(race=race).values_list("stock__symbol", "final_position"):
        RaceEntry.objects.filter(race=race, stock__symbol=symbol).update(final_position=order.index(symbol) + 1)
    users = [f.UserFactory(balance=100_000) for _ in range(12)]
    streaks = {}
    for user in users[:6]:
        streaks[user.pk] = rng.randint(0, 8)
        PlayerStreak.objects.create(user=user, current=streaks[user.pk], best=streaks[user.pk])
    window = (race.starts_at - race.betting_opens_at).total_seconds()
    bets = []
    for i in range(120):
        user = rng.choice(users)
        kind = rng.choice(["winner", "bracket", "podium"])
        placed = race.betting_opens_at + timedelta(microseconds=rng.randint(0, int(window * 1_000_000)))
        odds = f"{rng.uniform(1.01, 60):.2f}"
        stake = rng.randint(1, 5000)
        # The early-bet factor bet placement fixes on the bet (apps.races.scoring.timing_factor).
        timing = scoring.timing_factor((race.starts_at - placed).total_seconds(), window)
        most = pricing.Quote(odds=Decimal(odds), chance=0.5, expected_accuracy=0.5,
                             timing=timing).potential_payout(stake, kind)
        common = dict(race=race, user=user, stake=stake, odds=odds, placed_at=placed, timing=timing,
                      potential_payout=most)
        if kind == "winner":
            bets.append(f.BetFactory(symbol=rng.choice(SYMBOLS), **common))
        elif kind == "bracket":
            symbol = rng.choice(SYMBOLS)
            low = round(pct[symbol] - rng.uniform(0, 2), 3) if rng.random() < 0.7 else round(rng.uniform(-3, 3), 3)
            bets.append(f.BetFactory(kind=kind, symbol=symbol, low_pct=low, high_pct=round(low + rng.uniform(0.05, 4), 3),
                                     **common))
        else:
            pick = rng.sample(SYMBOLS, 3) if rng.random() < 0.8 else list(order[:3])
            bets.append(f.BetFactory(kind=kind, podium=pick, **common))

    settlement.race_settle(race_id=race.pk)

    result = scoring.RaceResult(pct=pct, order=order, participants=len({b.user_id for b in bets}),
                                window_seconds=window)
    mismatches = []
    race.refresh_from_db()
    for b in Bet.objects.filter(race=race).select_related("race"):
        expected, breakdown = scoring.bet_score(scoring.BetInput(
            kind=b.kind, stake=b.stake, odds=float(b.odds), symbol=b.symbol, low_pct=scoring.to_float(b.low_pct),
            high_pct=scoring.to_float(b.high_pct), podium=tuple(b.podium) if b.podium else None,
            timing=b.timing, streak=streaks.get(b.user_id, 0)), result)
        # The breakdown players are shown is recomputed from what settlement stored (the streak
        # before the race, the locked results): it must explain the stored payout exactly, multiply
        # out to it, and never exceed the most the bet could pay (shown when it was placed).
        shown = bet_breakdown(b)
        product = shown["stake"] * shown["odds"] * shown["accuracy"] * shown["timing"] * shown["participants"] \
            * shown["streak"] if shown["accuracy"] > 0 else 0.0
        if b.payout != expected or shown["payout"] != b.payout or shown["total"] != breakdown["total"] \
                or int(product + 1e-9) != b.payout or b.payout > b.potential_payout \
                or b.streak_before != (streaks.get(b.user_id, 0) if b.kind == "winner" else 0):
            mismatches.append((b.pk, b.kind, b.payout, expected, shown, breakdown))
    assert mismatches == []
    assert any(b.payout > 0 for b in Bet.objects.filter(race=race, kind="bracket"))
    assert any(0 < bet_breakdown(b)["accuracy"] < 1 for b in Bet.objects.filter(race=race, kind="podium"))
