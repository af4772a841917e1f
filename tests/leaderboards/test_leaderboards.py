"""Leaderboards: PostgreSQL truth, Redis serving, periods, exclusions, rebuild, ranks."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from django.core.management import call_command

from apps.core.redis import get_redis
from apps.leaderboards import periods
from apps.leaderboards.models import LeaderboardEntry
from apps.leaderboards.selectors import board_page, player_rank
from apps.leaderboards.services import leaderboard_sync_race
from apps.races import settlement
from apps.races.models import Race
from tests.support import factories as f

pytestmark = pytest.mark.django_db
S = Race.State


def _settled_race(users_and_symbols):
    race = f.RaceFactory(state=S.CALCULATING)
    f.lock_results(race, {"AAA": 2.0, "BBB": 1.0, "CCC": 0.0, "DDD": -1.0})
    for user, symbol, stake in users_and_symbols:
        f.BetFactory(race=race, user=user, symbol=symbol, stake=stake, odds="2.0")
    settlement.race_settle(race_id=race.pk)
    leaderboard_sync_race(race_id=race.pk)  # the after-commit task (on_commit does not run in this test)
    race.refresh_from_db()
    return race


def test_periods_reset_monday_and_first_of_month_new_york_time():
    # Sunday 23:30 in New York is Monday 04:30 UTC: still the previous week there.
    assert periods.week_key(datetime(2026, 11, 23, 4, 30, tzinfo=timezone.utc)) == "2026-W47"
    assert periods.week_key(datetime(2026, 11, 23, 5, 0, tzinfo=timezone.utc)) == "2026-W48"
    assert periods.month_key(datetime(2026, 12, 1, 4, 59, tzinfo=timezone.utc)) == "2026-11"
    assert periods.month_key(datetime(2026, 12, 1, 5, 0, tzinfo=timezone.utc)) == "2026-12"


def test_boards_rank_players_and_leave_out_house_and_restricted(api_client):
    alice, bob = f.UserFactory(balance=10_000, username="alice"), f.UserFactory(balance=10_000, username="bob")
    house = f.UserFactory(balance=10_000, username="house-1", is_house=True)
    shady = f.UserFactory(balance=10_000, username="shady", is_shadow_restricted=True)
    race = _settled_race([(alice, "AAA", 200), (bob, "AAA", 100), (house, "AAA", 500), (shady, "AAA", 400)])

    page = board_page(board="global", period="")
    assert [r["username"] for r in page.rows] == ["alice", "bob"]
    assert page.rows[0]["streak"] == 1
    assert player_rank(alice.pk) == 1 and player_rank(bob.pk) == 2
    assert player_rank(house.pk) is None and player_rank(shady.pk) is None

    week = periods.week_key(race.ends_at)
    body = api_client.get(f"/api/v1/leaderboards/weekly/?period={week}").json()
    assert body["period"] == week and [r["username"] for r in body["results"]] == ["alice", "bob"]
    assert api_client.get("/api/v1/leaderboards/monthly/").status_code == 200
    race_board = api_client.get(f"/api/v1/races/{race.pk}/leaderboard/").json()
    assert [r["username"] for r in race_board["results"]] == ["alice", "bob"]


def test_past_periods_stay_and_are_served(api_client):
    alice = f.UserFactory(balance=10_000, username="alice")
    LeaderboardEntry.objects.create(board="weekly", period="2025-W01", user=alice, points=77)
    body = api_client.get("/api/v1/leaderboards/weekly/?period=2025-W01").json()
    assert body["results"][0]["points"] == 77  # served from PostgreSQL while Redis lacks it


@pytest.mark.parametrize("path", ["/api/v1/leaderboards/weekly/?period=2025-13", "/api/v1/leaderboards/weekly/?period=x",
                                  "/api/v1/leaderboards/monthly/?period=2025-13",
                                  "/api/v1/leaderboards/global/?period=2025-01",
                                  "/api/v1/leaderboards/global/?page=0", "/api/v1/leaderboards/global/?page_size=abc"])
def test_bad_parameters_are_400(api_client, path):
    response = api_client.get(path)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"


def test_unknown_board_is_404(api_client):
    response = api_client.get("/api/v1/leaderboards/daily/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_rebuild_restores_redis_from_postgresql(capsys):
    alice, bob = f.UserFactory(balance=10_000, username="alice"), f.UserFactory(balance=10_000, username="bob")
    race = _settled_race([(alice, "AAA", 100), (bob, "AAA", 300)])
    before = board_page(board="global", period="").rows
    get_redis().flushdb()
    call_command("rebuild_leaderboards")
    out = capsys.readouterr().out
    assert "lb:global" in out and "rebuilt" in out
    assert board_page(board="global", period="").rows == before
    assert get_redis().zcard(periods.race_redis_key(race.pk)) == 2
    assert player_rank(bob.pk) == 1


def test_points_accumulate_over_races():
    alice = f.UserFactory(balance=10_000, username="alice")
    first = _settled_race([(alice, "AAA", 100)])
    second = _settled_race([(alice, "AAA", 100)])
    won = sum(b.payout for r in (first, second) for b in r.bets.all())
    assert LeaderboardEntry.objects.get(board="global", user=alice).points == won
    assert int(get_redis().zscore("lb:global", str(alice.pk))) == won


def test_a_lost_sync_is_redone_by_the_cleanup_and_syncing_twice_changes_nothing():
    from datetime import timedelta

    from apps.core.redis import redis_now
    from apps.races.cleanup import races_cleanup

    alice = f.UserFactory(balance=10_000, username="alice")
    race = f.RaceFactory(state=S.CALCULATING)
    f.lock_results(race, {"AAA": 2.0, "BBB": 1.0, "CCC": 0.0, "DDD": -1.0})
    f.BetFactory(race=race, user=alice, symbol="AAA", stake=100, odds="2.0")
    settlement.race_settle(race_id=race.pk)  # its after-commit sync never runs in this test
    assert not LeaderboardEntry.objects.filter(user=alice).exists()
    Race.objects.filter(pk=race.pk).update(settled_at=redis_now() - timedelta(minutes=5))
    assert races_cleanup()["leaderboards_synced"] == 1
    entry = LeaderboardEntry.objects.get(board="global", user=alice)
    leaderboard_sync_race(race_id=race.pk)
    entry_again = LeaderboardEntry.objects.get(board="global", user=alice)
    assert entry_again.points == entry.points > 0
    assert player_rank(alice.pk) == 1
    assert races_cleanup()["leaderboards_synced"] == 0
