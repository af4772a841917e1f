"""A race extends a player's streak only when every winner bet they had in it was right: betting on
every stock (one is sure to win) ends the streak instead of keeping it forever."""
from __future__ import annotations

import pytest

from apps.leaderboards.models import PlayerStreak
from apps.races import settlement
from apps.races.models import Race
from tests.support import factories as f

pytestmark = pytest.mark.django_db
S = Race.State
PCT = {"AAA": 3.0, "BBB": 1.5, "CCC": -0.5, "DDD": -2.0}  # AAA wins


def _settle(player, picks: list[str], *, podium: bool = False):
    race = f.RaceFactory(state=S.CALCULATING)
    f.lock_results(race, PCT)
    for symbol in picks:
        f.BetFactory(race=race, user=player, symbol=symbol, stake=10)
    if podium:
        f.BetFactory(race=race, user=player, kind="podium", symbol="", podium=["AAA", "BBB", "CCC"], stake=10)
    settlement.race_settle(race_id=race.pk)
    return PlayerStreak.objects.filter(user=player).values_list("current", "best").first()


def test_only_races_with_every_winner_pick_right_extend_the_streak():
    player = f.UserFactory(balance=5000)
    assert _settle(player, ["AAA"]) == (1, 1)
    assert _settle(player, ["AAA", "AAA"]) == (2, 2)  # two right picks of the same stock
    assert _settle(player, [], podium=True) == (2, 2)  # no winner bet: the streak stands
    assert _settle(player, ["AAA", "BBB"]) == (0, 2)  # one right, one wrong: it ends


def test_hedging_on_every_stock_ends_the_streak():
    player = f.UserFactory(balance=5000)
    _settle(player, ["AAA"])
    assert _settle(player, ["AAA", "BBB", "CCC", "DDD"]) == (0, 1)
    assert _settle(player, ["AAA", "BBB", "CCC", "DDD"]) == (0, 1)  # and never starts one
