"""Each rule awards the players who qualify in the race, and nobody else."""
from __future__ import annotations

import pytest

from apps.badges.models import Badge, UserBadge
from apps.bets.models import Bet
from apps.badges.services import badges_evaluate_race
from apps.races.models import Race
from tests.badges.conftest import PODIUM, held, past_race_played, settled_race
from tests.support import factories as f

pytestmark = pytest.mark.django_db


def winner(symbol: str, odds: str = "3.0", stake: int = 100) -> dict:
    return {"symbol": symbol, "odds": odds, "stake": stake}


def test_first_bet_and_first_win_go_to_real_players_only(catalog):
    alice, bob = f.UserFactory(balance=10_000, username="alice_b"), f.UserFactory(balance=10_000, username="bob_b")
    house = f.UserFactory(balance=10_000, is_house=True)
    shadow = f.UserFactory(balance=10_000, is_shadow_restricted=True)
    race = settled_race([(alice, winner("AAA")), (bob, winner("DDD")), (house, winner("AAA")),
                         (shadow, winner("AAA"))])
    result = badges_evaluate_race(race_id=race.pk)

    assert held(alice) == {"first_bet", "first_win"}
    assert held(bob) == {"first_bet"}
    assert held(house) == set() and held(shadow) == set()  # they earn nothing that counts
    assert len(result.awards) == 3
    assert set(UserBadge.objects.values_list("race_id", flat=True)) == {race.pk}


def test_a_race_that_is_not_completed_awards_nothing(catalog):
    alice = f.UserFactory(balance=10_000)
    race = f.RaceFactory(state=Race.State.CALCULATING)
    f.BetFactory(race=race, user=alice, symbol="AAA")
    assert badges_evaluate_race(race_id=race.pk).awards == []
    assert held(alice) == set()


def test_refunded_bets_of_a_cancelled_race_earn_nothing(catalog):
    from apps.races.lifecycle import race_cancel

    alice = f.UserFactory(balance=10_000)
    race = f.RaceFactory(state=Race.State.OPEN)
    f.BetFactory(race=race, user=alice, symbol="AAA")
    race_cancel(race_id=race.pk, cause="test")
    assert badges_evaluate_race(race_id=race.pk).awards == []
    assert held(alice) == set()


def test_hat_trick_needs_three_correct_winner_picks_in_a_row(catalog):
    steady, broken = f.UserFactory(balance=10_000, username="steady"), f.UserFactory(balance=10_000, username="broken")
    races = []
    # steady: hit, (no winner bet: leaves the streak alone), hit, hit. broken: hit, hit, miss, hit.
    plans = [
        [(steady, winner("AAA")), (broken, winner("AAA"))],
        [(steady, {"kind": "podium", "podium": PODIUM, "odds": "20"}), (broken, winner("AAA"))],
        [(steady, winner("AAA")), (broken, winner("BBB"))],
        [(steady, winner("AAA")), (broken, winner("AAA"))],
    ]
    for bets in plans:
        races.append(settled_race(bets))
    for race in races[:3]:
        badges_evaluate_race(race_id=race.pk)
    assert "hat_trick" not in held(steady) | held(broken)
    badges_evaluate_race(race_id=races[3].pk)
    assert "hat_trick" in held(steady) and "hat_trick" not in held(broken)
    assert UserBadge.objects.get(user=steady, badge__code="hat_trick").race_id == races[3].pk


def test_streaks_are_judged_as_of_the_race_evaluated(catalog):
    """Re-evaluating an old race (award_badges) must not credit it with a streak made later."""
    alice = f.UserFactory(balance=10_000)
    races = [settled_race([(alice, winner("AAA"))]) for _ in range(3)]
    badges_evaluate_race(race_id=races[1].pk)
    assert "hat_trick" not in held(alice)
    badges_evaluate_race(race_id=races[2].pk)
    assert "hat_trick" in held(alice)


def test_on_fire_after_five_in_a_row(catalog):
    alice = f.UserFactory(balance=10_000)
    races = [settled_race([(alice, winner("AAA"))]) for _ in range(5)]
    badges_evaluate_race(race_id=races[-1].pk)
    assert {"hat_trick", "on_fire"} <= held(alice)


def test_a_miss_before_the_last_four_hits_is_no_five_streak(catalog):
    alice = f.UserFactory(balance=10_000)
    races = [settled_race([(alice, winner(symbol))]) for symbol in ("DDD", "AAA", "AAA", "AAA", "AAA")]
    badges_evaluate_race(race_id=races[-1].pk)
    assert "hat_trick" in held(alice) and "on_fire" not in held(alice)


def test_a_hedged_race_breaks_the_badge_streak_as_it_breaks_the_stored_one(catalog):
    """Settlement's rule (apps.races.settlement.STREAK_SQL): a race extends the streak only when every
    winner bet in it was right. Backing AAA and BBB (AAA won) ends the run, for the badges too."""
    from apps.leaderboards.models import PlayerStreak

    hedger = f.UserFactory(balance=10_000)
    plans = [[winner("AAA")], [winner("AAA"), winner("BBB")], [winner("AAA")], [winner("AAA")]]
    races = [settled_race([(hedger, bet) for bet in plan]) for plan in plans]
    assert PlayerStreak.objects.get(user=hedger).current == 2
    for race in races:
        badges_evaluate_race(race_id=race.pk)
    assert "hat_trick" not in held(hedger)
    races.append(settled_race([(hedger, winner("AAA"))]))
    badges_evaluate_race(race_id=races[-1].pk)
    assert "hat_trick" in held(hedger)
    assert UserBadge.objects.get(user=hedger, badge__code="hat_trick").race_id == races[-1].pk


def test_underdog_needs_a_correct_pick_at_long_odds(catalog):
    long_shot, favourite, wrong = f.UserFactory.create_batch(3, balance=10_000)
    race = settled_race([(long_shot, winner("AAA", odds="5.0")), (favourite, winner("AAA", odds="4.99")),
                         (wrong, winner("DDD", odds="9.0"))])
    badges_evaluate_race(race_id=race.pk)
    assert "underdog" in held(long_shot)
    assert "underdog" not in held(favourite) | held(wrong)


def test_sharpshooter_needs_a_narrow_correct_bracket(catalog):
    narrow, wide, missed = f.UserFactory.create_batch(3, balance=10_000)
    race = settled_race([  # AAA finished +2.0 %
        (narrow, {"kind": "bracket", "symbol": "AAA", "low_pct": 1.8, "high_pct": 2.3, "odds": "8"}),
        (wide, {"kind": "bracket", "symbol": "AAA", "low_pct": 1.7, "high_pct": 2.3, "odds": "6"}),
        (missed, {"kind": "bracket", "symbol": "AAA", "low_pct": 2.1, "high_pct": 2.3, "odds": "20"}),
    ])
    badges_evaluate_race(race_id=race.pk)
    assert "sharpshooter" in held(narrow)
    assert "sharpshooter" not in held(wide) | held(missed)


def test_photo_finish_needs_the_exact_order(catalog):
    exact, swapped = f.UserFactory.create_batch(2, balance=10_000)
    race = settled_race([(exact, {"kind": "podium", "podium": PODIUM, "odds": "20", "stake": 10}),
                         (swapped, {"kind": "podium", "podium": ["BBB", "AAA", "CCC"], "odds": "20", "stake": 10})])
    badges_evaluate_race(race_id=race.pk)
    assert "photo_finish" in held(exact)
    assert "photo_finish" in held(exact) and "first_win" in held(exact)
    # A partial podium pays a share, but it is no correct call: no First Win for it.
    assert held(swapped) == {"first_bet"} and Bet.objects.get(race=race, user=swapped).payout > 0


def test_top_of_the_field_needs_two_players_behind(catalog):
    a, b, c = f.UserFactory.create_batch(3, balance=10_000)
    small = settled_race([(a, winner("AAA")), (b, winner("BBB"))])
    badges_evaluate_race(race_id=small.pk)
    assert "top_of_field" not in held(a)
    full = settled_race([(a, winner("DDD")), (b, winner("AAA")), (c, winner("BBB"))])
    badges_evaluate_race(race_id=full.pk)
    assert "top_of_field" in held(b) and "top_of_field" not in held(a) | held(c)
    d, e, g = f.UserFactory.create_batch(3, balance=10_000)
    all_tied = settled_race([(d, winner("AAA")), (e, winner("AAA")), (g, winner("AAA"))])
    badges_evaluate_race(race_id=all_tied.pk)
    assert "top_of_field" not in held(d) | held(e) | held(g)  # nobody finished behind them


def test_marathon_is_for_full_day_races(catalog):
    sprinter, marathoner = f.UserFactory.create_batch(2, balance=10_000)
    badges_evaluate_race(race_id=settled_race([(sprinter, winner("DDD"))]).pk)
    badges_evaluate_race(race_id=settled_race([(marathoner, winner("DDD"))], duration="1d").pk)
    assert "marathon" in held(marathoner) and "marathon" not in held(sprinter)


def test_regular_after_ten_races_played(catalog):
    nine, eight = f.UserFactory.create_batch(2, balance=10_000)
    for i in range(9):
        past_race_played(nine, minutes_ago=100 - i)
        if i < 8:
            past_race_played(eight, minutes_ago=100 - i)
    race = settled_race([(nine, winner("DDD")), (eight, winner("DDD"))])
    badges_evaluate_race(race_id=race.pk)
    assert "regular" in held(nine) and "regular" not in held(eight)
    assert "veteran" not in held(nine)


def test_jackpot_for_one_big_payout(catalog):
    big, small = f.UserFactory.create_batch(2, balance=10_000)
    race = settled_race([(big, {"kind": "podium", "podium": PODIUM, "odds": "24", "stake": 500}),
                         (small, winner("AAA", odds="3.0", stake=500))])
    badges_evaluate_race(race_id=race.pk)
    assert "jackpot" in held(big) and "jackpot" not in held(small)


def test_an_inactive_badge_is_not_awarded(catalog):
    Badge.objects.filter(code="first_win").update(active=False)
    alice = f.UserFactory(balance=10_000)
    badges_evaluate_race(race_id=settled_race([(alice, winner("AAA"))]).pk)
    assert held(alice) == {"first_bet"}
