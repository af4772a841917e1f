"""Settlement: scores, pays exactly once, stores results, streaks and leaderboards."""
from __future__ import annotations

from datetime import timedelta

import pytest

from apps.bets.models import Bet
from apps.leaderboards.models import LeaderboardEntry, PlayerStreak
from apps.leaderboards.services import leaderboard_sync_race
from apps.points.models import LedgerEntry
from apps.races import settlement
from apps.races.models import Race, RaceStanding, RaceTransition
from apps.races.selectors import bet_breakdown
from tests.support import factories as f
from tests.support.ledger import assert_ledger_balanced, balances

pytestmark = pytest.mark.django_db
S = Race.State
PCT = {"AAA": 3.0, "BBB": 1.5, "CCC": -0.5, "DDD": -2.0}


def _race_with_bets():
    race = f.RaceFactory(state=S.CALCULATING)
    f.lock_results(race, PCT)
    alice, bob, house = f.UserFactory(), f.UserFactory(), f.UserFactory(is_house=True)
    bets = {
        "alice_winner": f.BetFactory(race=race, user=alice, symbol="AAA", stake=100, odds="3.0"),
        "alice_bracket": f.BetFactory(race=race, user=alice, kind="bracket", symbol="BBB", low_pct=1.0, high_pct=2.0, stake=50, odds="4.0"),
        "bob_winner": f.BetFactory(race=race, user=bob, symbol="CCC", stake=100, odds="2.5"),
        "bob_podium": f.BetFactory(race=race, user=bob, kind="podium", podium=["AAA", "CCC", "BBB"], stake=20, odds="20"),
        "house_winner": f.BetFactory(race=race, user=house, symbol="AAA", stake=10, odds="3.0"),
    }
    return race, (alice, bob, house), bets


def test_settlement_scores_pays_and_records_results():
    race, (alice, bob, house), bets = _race_with_bets()
    result = settlement.race_settle(race_id=race.pk)
    assert result.bets == 5 and result.payouts == 4

    by_id = {b.pk: b for b in Bet.objects.filter(race=race)}
    won = by_id[bets["alice_winner"].pk]
    assert won.status == Bet.Status.WON
    # base 300 × participants(2 eligible players: the house does not count) × timing(bet 1 s into a 60 s window).
    score = bet_breakdown(won)
    assert score["accuracy"] == 1.0 and score["streak"] == 1.0 and score["payout"] == won.payout
    assert won.payout == int(300 * score["participants"] * score["timing"])
    assert by_id[bets["alice_bracket"].pk].status == Bet.Status.WON
    assert by_id[bets["bob_winner"].pk].status == Bet.Status.LOST and by_id[bets["bob_winner"].pk].payout == 0
    partial = by_id[bets["bob_podium"].pk]  # AAA exactly first; CCC and BBB in the top 3 but swapped
    assert partial.status == Bet.Status.WON and bet_breakdown(partial)["accuracy"] == pytest.approx(0.45)
    assert bet_breakdown(by_id[bets["bob_winner"].pk])["accuracy"] == 0.0

    paid = {e.bet_id: e.amount for e in LedgerEntry.objects.filter(kind="payout", race=race)}
    assert paid == {b.pk: b.payout for b in by_id.values() if b.payout > 0}
    assert sum(paid.values()) == result.paid
    assert_ledger_balanced()

    race.refresh_from_db()
    assert race.state == S.COMPLETED and race.participants == 2 and race.settled_at is not None
    assert RaceTransition.objects.filter(race=race, to_state=S.COMPLETED).count() == 1

    standings = {s.user_id: s for s in RaceStanding.objects.filter(race=race)}
    assert set(standings) == {alice.pk, bob.pk}  # the house never appears on a leaderboard
    assert standings[alice.pk].rank == 1
    leaderboard_sync_race(race_id=race.pk)  # the after-commit task (this test's transaction never commits)
    assert LeaderboardEntry.objects.filter(user=house).count() == 0
    assert LeaderboardEntry.objects.get(board="global", user=alice).points == standings[alice.pk].points_won
    assert LeaderboardEntry.objects.filter(user=alice).count() == 3  # global, this week, this month

    assert PlayerStreak.objects.get(user=alice).current == 1
    assert PlayerStreak.objects.get(user=bob).current == 0


def test_settling_twice_pays_once():
    race, _, _ = _race_with_bets()
    first = settlement.race_settle(race_id=race.pk)
    before = balances()
    assert settlement.race_settle(race_id=race.pk) is None
    assert balances() == before
    assert LedgerEntry.objects.filter(kind="payout", race=race).count() == first.payouts


def test_streak_multiplies_consecutive_correct_winner_picks():
    player = f.UserFactory(balance=5000)
    payouts = []
    for _ in range(3):
        race = f.RaceFactory(state=S.CALCULATING)
        f.lock_results(race, PCT)
        b = f.BetFactory(race=race, user=player, symbol="AAA", stake=100, odds="2.0", placed_at=race.starts_at - timedelta(seconds=30))
        settlement.race_settle(race_id=race.pk)
        b.refresh_from_db()
        payouts.append((bet_breakdown(b)["streak"], b.payout))
    assert [s for s, _ in payouts] == [1.0, 1.02, 1.04]  # + 0.02 per race in a row (apps.races.scoring)
    assert payouts[0][1] < payouts[1][1] < payouts[2][1]
    streak = PlayerStreak.objects.get(user=player)
    assert (streak.current, streak.best) == (3, 3)

    race = f.RaceFactory(state=S.CALCULATING)
    f.lock_results(race, PCT)
    f.BetFactory(race=race, user=player, symbol="DDD", stake=100)
    settlement.race_settle(race_id=race.pk)
    streak.refresh_from_db()
    assert (streak.current, streak.best) == (0, 3)


def test_race_without_bets_completes():
    race = f.RaceFactory(state=S.CALCULATING)
    f.lock_results(race, PCT)
    result = settlement.race_settle(race_id=race.pk)
    assert (result.bets, result.paid) == (0, 0)
    race.refresh_from_db()
    assert race.state == S.COMPLETED
