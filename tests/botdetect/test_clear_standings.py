"""A cleared player's races settled while they were restricted count again: their standings are
written then (ranks recomputed), their board totals re-summed and Redis updated, once."""
from __future__ import annotations

import pytest

from apps.botdetect.services import decision_apply
from apps.core.redis import get_redis
from apps.leaderboards import periods
from apps.leaderboards.models import LeaderboardEntry
from apps.points.models import PointsAccount
from apps.races.models import Race, RaceStanding
from tests.botdetect.conftest import settle_as
from tests.support.factories import BetFactory, RaceFactory, UserFactory
from tests.support.ledger import assert_ledger_balanced

pytestmark = pytest.mark.django_db
ORDER = ["AAA", "BBB", "CCC", "DDD"]


def _race(bets):
    race = RaceFactory(state=Race.State.OPEN)
    for user, symbol, stake in bets:
        BetFactory(race=race, user=user, symbol=symbol, stake=stake, odds="3.0")
    return race


def _board(user):
    return {(e.board, e.period): (e.points, e.bets, e.wins) for e in LeaderboardEntry.objects.filter(user=user)}


def test_clearing_a_player_counts_the_races_settled_while_restricted(django_capture_on_commit_callbacks):
    player, rival = UserFactory(username="fastthumb", balance=5000), UserFactory(username="rival", balance=5000)
    staff = UserFactory(username="referee", is_staff=True)
    with django_capture_on_commit_callbacks(execute=True):
        before = _race([(player, "AAA", 100), (rival, "BBB", 100)])
        settle_as(before, ORDER)  # eligible: a standing as usual
    with django_capture_on_commit_callbacks(execute=True):
        decision_apply(user=player, staff=staff, decision="restrict", reason="bets in milliseconds")
    with django_capture_on_commit_callbacks(execute=True):
        during = _race([(player, "AAA", 100), (player, "DDD", 50), (rival, "AAA", 20)])
        settle_as(during, ORDER)
    assert not RaceStanding.objects.filter(race=during, user=player).exists()
    assert RaceStanding.objects.get(race=during, user=rival).rank == 1
    assert PointsAccount.objects.get(user=player).held > 0  # the payout was held
    paid = sum(during.bets.filter(user=player).values_list("payout", flat=True))
    rival_paid = RaceStanding.objects.get(race=during, user=rival).points_won
    assert paid > rival_paid > 0
    global_key = periods.redis_key("global", "")
    assert get_redis().zscore(global_key, str(player.pk)) is None

    with django_capture_on_commit_callbacks(execute=True):
        decision_apply(user=player, staff=staff, decision="clear", reason="a fast thumb, checked")
    row = RaceStanding.objects.get(race=during, user=player)
    assert (row.points_won, row.staked, row.bets, row.wins, row.rank) == (paid, 150, 2, 1, 1)
    assert RaceStanding.objects.get(race=during, user=rival).rank == 2  # re-ranked under the player
    assert RaceStanding.objects.filter(race=before, user=player).count() == 1  # untouched
    total = sum(RaceStanding.objects.filter(user=player).values_list("points_won", flat=True))
    assert _board(player)[("global", "")] == (total, 3, 2)
    assert get_redis().zscore(global_key, str(player.pk)) == total
    assert get_redis().zscore(periods.race_redis_key(during.pk), str(player.pk)) == paid
    assert PointsAccount.objects.get(user=player).held == 0
    assert_ledger_balanced(player)

    # Once: a second clear writes no standing and moves no total.
    standings_then, board_then = list(RaceStanding.objects.values_list("race_id", "user_id", "rank")), _board(player)
    with django_capture_on_commit_callbacks(execute=True):
        again = decision_apply(user=player, staff=staff, decision="clear", reason="clicked twice")
    assert again.points_moved == 0
    assert list(RaceStanding.objects.values_list("race_id", "user_id", "rank")) == standings_then
    assert _board(player) == board_then
