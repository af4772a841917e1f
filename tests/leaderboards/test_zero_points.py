"""A player who has won no points is not on the period boards: no "#2" for 0 points."""
from __future__ import annotations

import pytest

from apps.core.redis import get_redis
from apps.leaderboards.models import LeaderboardEntry
from apps.leaderboards.selectors import board_page, player_rank
from apps.leaderboards.services import leaderboard_sync_race, leaderboards_rebuild
from apps.races import settlement
from tests.support import factories as f

pytestmark = pytest.mark.django_db


def test_a_player_on_zero_points_has_no_rank(api_client):
    winner, loser = f.UserFactory(username="winner"), f.UserFactory(username="loser")
    race = f.RaceFactory(state="calculating")
    f.lock_results(race, {"AAA": 2.0, "BBB": 1.0, "CCC": 0.0, "DDD": -1.0})
    f.BetFactory(race=race, user=winner, symbol="AAA", stake=100, odds="2.0")
    f.BetFactory(race=race, user=loser, symbol="DDD", stake=100, odds="2.0")
    settlement.race_settle(race_id=race.pk)
    leaderboard_sync_race(race_id=race.pk)

    for source in ("redis", "postgresql"):
        assert [r["username"] for r in board_page(board="global", period="").rows] == ["winner"], source
        assert player_rank(winner.pk) == 1 and player_rank(loser.pk) is None, source
        get_redis().flushdb()  # next: served from PostgreSQL
    assert not LeaderboardEntry.objects.filter(user=loser).exists()
    # The race's own board still ranks everyone who bet on it.
    race_board = api_client.get(f"/api/v1/races/{race.pk}/leaderboard/").json()
    assert [r["username"] for r in race_board["results"]] == ["winner", "loser"]
    leaderboards_rebuild()
    assert get_redis().zscore("lb:global", str(loser.pk)) is None
