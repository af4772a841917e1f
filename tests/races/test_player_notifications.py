"""Players hear about their races on /ws/me/: started, and settled with what it paid them."""
from __future__ import annotations

import orjson
import pytest

from apps.core import live_keys as keys
from apps.core.redis import get_redis
from apps.races import lifecycle, settlement
from apps.races.models import Race
from tests.support import factories as f

pytestmark = pytest.mark.django_db
S = Race.State


def personal_messages(pubsub) -> list[dict]:
    out = []
    while (message := pubsub.get_message(timeout=0.5)) is not None:
        if message["type"] == "message":
            out.append(orjson.loads(message["data"]))
    return out


def test_bettors_get_started_and_settled_with_their_payout(django_capture_on_commit_callbacks):
    alice, bob, house = f.UserFactory(balance=10_000, username="alice_n"), f.UserFactory(balance=10_000, username="bob_n"), f.UserFactory(balance=10_000, is_house=True)
    race = f.RaceFactory(state=S.OPEN)
    f.BetFactory(race=race, user=alice, symbol="AAA", stake=100, odds="3.0")
    f.BetFactory(race=race, user=bob, symbol="CCC", stake=100, odds="2.5")
    f.BetFactory(race=race, user=house, symbol="AAA", stake=10, odds="3.0")
    pubsub = get_redis().pubsub()
    pubsub.subscribe(*(keys.user_channel(u.pk) for u in (alice, bob, house)))
    personal_messages(pubsub)  # the subscribe confirmations

    f.write_quotes({"AAA": 10.0, "BBB": 20.0, "CCC": 30.0, "DDD": 40.0})
    with django_capture_on_commit_callbacks(execute=True):
        assert lifecycle.race_start(race_id=race.pk, now=race.starts_at)
    started = personal_messages(pubsub)
    assert sorted((m["type"], m["user"]) for m in started) == sorted(
        [("race_started", alice.pk), ("race_started", bob.pk)])  # the house hears nothing
    assert all(m["race_id"] == race.pk and m["title"] == race.title for m in started)

    Race.objects.filter(pk=race.pk).update(state=S.CALCULATING)
    f.lock_results(race, {"AAA": 2.0, "BBB": 1.0, "CCC": -1.0, "DDD": 0.5})
    with django_capture_on_commit_callbacks(execute=True):
        settlement.race_settle(race_id=race.pk)
    messages = personal_messages(pubsub)
    settled = {m["user"]: m for m in messages if m["type"] == "race_settled"}
    assert set(settled) == {alice.pk, bob.pk}
    assert settled[alice.pk]["payout"] > 0 and settled[bob.pk]["payout"] == 0
    # The leaderboard sync after settlement tells players who climbed the global board.
    ranks = {m["user"]: m["rank"] for m in messages if m["type"] == "rank_changed"}
    assert ranks[alice.pk] == 1 and house.pk not in ranks


def test_a_shadow_restricted_bettor_hears_of_the_settlement_with_their_own_payout(django_capture_on_commit_callbacks):
    """Left out of the standings, a restricted player still sees their race as anyone does (issue 12)."""
    from apps.races.models import RaceStanding

    restricted = f.UserFactory(balance=10_000, is_shadow_restricted=True)
    normal, house = f.UserFactory(balance=10_000), f.UserFactory(balance=10_000, is_house=True)
    race = f.RaceFactory(state=S.CALCULATING)
    f.lock_results(race, {"AAA": 2.0, "BBB": 1.0, "CCC": -1.0, "DDD": 0.5})
    f.BetFactory(race=race, user=restricted, symbol="AAA", stake=100, odds="3.0")
    f.BetFactory(race=race, user=restricted, symbol="BBB", stake=50, odds="2.0")
    f.BetFactory(race=race, user=normal, symbol="CCC", stake=100, odds="2.5")
    f.BetFactory(race=race, user=house, symbol="AAA", stake=10, odds="3.0")
    pubsub = get_redis().pubsub()
    pubsub.subscribe(*(keys.user_channel(u.pk) for u in (restricted, normal, house)))
    personal_messages(pubsub)
    with django_capture_on_commit_callbacks(execute=True):
        settlement.race_settle(race_id=race.pk)
    settled = {m["user"]: m for m in personal_messages(pubsub) if m["type"] == "race_settled"}
    assert not RaceStanding.objects.filter(race=race, user=restricted).exists()
    assert set(settled) == {restricted.pk, normal.pk}  # the house hears nothing
    paid = sum(race.bets.filter(user=restricted).values_list("payout", flat=True))
    assert settled[restricted.pk]["payout"] == paid > 0 and settled[normal.pk]["payout"] == 0
