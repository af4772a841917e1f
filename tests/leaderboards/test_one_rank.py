"""One rank everywhere: competition ranking (1, 1, 3). Two players on equal points share a place
on the board page, in /api/v1/me/ and in the rank_changed toast after the settlement."""
from __future__ import annotations

import orjson
import pytest

from apps.core import live_keys as keys
from apps.core.redis import get_redis
from apps.leaderboards.ranks import redis_ranks
from apps.leaderboards.selectors import board_page, player_rank
from apps.races import settlement
from apps.races.models import Race
from tests.support import factories as f

pytestmark = pytest.mark.django_db


def _messages(pubsub) -> list[dict]:
    out = []
    while (message := pubsub.get_message(timeout=0.5)) is not None:
        if message["type"] == "message":
            out.append(orjson.loads(message["data"]))
    return out


def test_a_tie_has_one_rank_on_the_board_in_me_and_in_the_toast(api_client, django_capture_on_commit_callbacks):
    alice, bob, carol = (f.UserFactory(username=name) for name in ("alice_t", "bob_t", "carol_t"))
    race = f.RaceFactory(state=Race.State.CALCULATING)
    f.lock_results(race, {"AAA": 2.0, "BBB": 1.0, "CCC": 0.0, "DDD": -1.0})
    for user, stake in ((alice, 100), (bob, 100), (carol, 40)):  # alice and bob: the same bet, the same payout
        f.BetFactory(race=race, user=user, symbol="AAA", stake=stake, odds="2.0")
    pubsub = get_redis().pubsub()
    pubsub.subscribe(*(keys.user_channel(u.pk) for u in (alice, bob, carol)))
    _messages(pubsub)  # the subscribe confirmations

    with django_capture_on_commit_callbacks(execute=True):  # the leaderboard sync runs on commit
        assert settlement.race_settle(race_id=race.pk) is not None

    expected = {alice.pk: 1, bob.pk: 1, carol.pk: 3}
    page = board_page(board="global", period="")
    assert {row["user_id"]: row["rank"] for row in page.rows} == expected
    body = api_client.get("/api/v1/leaderboards/global/").json()
    assert {row["user_id"]: row["rank"] for row in body["results"]} == expected
    for user in (alice, bob, carol):
        api_client.force_authenticate(user)
        assert api_client.get("/api/v1/me/").json()["rank"] == expected[user.pk]
        assert player_rank(user.pk) == expected[user.pk]
    toasts = {m["user"]: m["rank"] for m in _messages(pubsub) if m["type"] == "rank_changed"}
    assert toasts == expected


def test_the_board_read_from_postgresql_ranks_a_tie_the_same(django_capture_on_commit_callbacks):
    alice, bob = f.UserFactory(), f.UserFactory()
    race = f.RaceFactory(state=Race.State.CALCULATING)
    f.lock_results(race, {"AAA": 2.0, "BBB": 1.0, "CCC": 0.0, "DDD": -1.0})
    for user in (alice, bob):
        f.BetFactory(race=race, user=user, symbol="AAA", stake=100, odds="2.0")
    with django_capture_on_commit_callbacks(execute=True):
        settlement.race_settle(race_id=race.pk)
    get_redis().flushdb()  # Redis lost the boards: pages and ranks come from PostgreSQL
    assert [row["rank"] for row in board_page(board="global", period="").rows] == [1, 1]
    assert player_rank(alice.pk) == player_rank(bob.pk) == 1


def test_redis_ranks_share_places_and_say_when_the_board_is_missing(redis_client):
    assert redis_ranks(redis_client, "lb:test", [1]) is None
    redis_client.zadd("lb:test", {"1": 50, "2": 30, "3": 30, "4": 10})
    assert redis_ranks(redis_client, "lb:test", [1, 2, 3, 4, 5]) == [1, 2, 2, 4, None]
