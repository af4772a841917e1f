"""A partial podium pays a share of its odds, so its status is "won", but it is partly right, not
correct: the bet API, the race page, the profile and the race board agree on it (apps.races.outcomes;
the badges: tests/badges/test_rules.py), and payouts are those of scoring."""
from __future__ import annotations

import pytest
from django.db import connection

from apps.bets.models import Bet
from apps.races import outcomes
from apps.races.models import RaceStanding
from apps.races.selectors import race_result
from tests.badges.conftest import settled_race
from tests.support import factories as f

pytestmark = pytest.mark.django_db
# AAA wins, BBB second, CCC third, DDD last (tests.badges.conftest.PCT).
BETS = {
    "winner right": {"symbol": "AAA", "odds": "3.0"},
    "winner wrong": {"symbol": "DDD", "odds": "3.0"},
    "bracket right": {"kind": "bracket", "symbol": "AAA", "low_pct": 1.0, "high_pct": 3.0, "odds": "4"},
    "bracket wrong": {"kind": "bracket", "symbol": "AAA", "low_pct": 2.5, "high_pct": 3.0, "odds": "4"},
    "podium exact": {"kind": "podium", "podium": ["AAA", "BBB", "CCC"], "odds": "20"},
    # The case: every pick in the top three, none in its place. It pays 0.30 of the odds.
    "podium misplaced": {"kind": "podium", "podium": ["CCC", "AAA", "BBB"], "odds": "20"},
    "podium none": {"kind": "podium", "podium": ["DDD", "DDD", "DDD"], "odds": "20"},
}
EXPECTED = {
    "winner right": outcomes.RIGHT, "winner wrong": outcomes.WRONG, "bracket right": outcomes.RIGHT,
    "bracket wrong": outcomes.WRONG, "podium exact": outcomes.RIGHT, "podium misplaced": outcomes.PARTLY_RIGHT,
    "podium none": outcomes.WRONG,
}


def _race_with_every_outcome(user):
    race = settled_race([(user, {"stake": 100, **kwargs}) for kwargs in BETS.values()])
    bets = {name: bet for name, bet in zip(BETS, Bet.objects.filter(race=race, user=user).order_by("id"))}
    return race, bets


def test_python_sql_and_settlement_agree_on_what_was_right():
    player = f.UserFactory(balance=10_000)
    race, bets = _race_with_every_outcome(player)
    result = race_result(race)
    shown = {name: outcomes.bet_outcome(kind=b.kind, status=b.status, podium=b.podium, result=result)
             for name, b in bets.items()}
    assert shown == EXPECTED
    assert bets["podium misplaced"].status == Bet.Status.WON and bets["podium misplaced"].payout == 600  # pays 0.30
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT b.id, {outcomes.right_sql('b')} FROM bets_bet b WHERE b.race_id = %s", [race.pk])
        right_in_sql = dict(cursor.fetchall())
    assert {name: right_in_sql[b.pk] for name, b in bets.items()} == {n: o == outcomes.RIGHT for n, o in EXPECTED.items()}
    standing = RaceStanding.objects.get(race=race, user=player)
    assert (standing.bets, standing.wins) == (7, 3)  # the race board's "correct": right bets only


def test_the_bet_api_says_a_partial_podium_is_partly_right(api_client):
    player = f.UserFactory(balance=10_000)
    _, bets = _race_with_every_outcome(player)
    api_client.force_authenticate(player)
    rows = {row["id"]: row for row in api_client.get("/api/v1/me/bets/").json()["results"]}
    assert {name: rows[b.pk]["outcome"] for name, b in bets.items()} == EXPECTED
    partial = rows[bets["podium misplaced"].pk]
    assert partial["status"] == "won" and partial["payout"] == 600 == partial["breakdown"]["payout"]


def test_the_race_page_and_the_profile_count_right_bets_and_label_the_partial_one(client):
    player = f.UserFactory(balance=10_000)
    race, _ = _race_with_every_outcome(player)
    client.force_login(player)
    html = client.get(f"/races/{race.pk}/").content.decode()
    assert "3 of 7 bets correct, 1 partly right." in html
    assert html.count('data-outcome="partly_right"') == 1
    assert "<td class=\"num\">3/7</td>" in html  # the race board
    profile = client.get(f"/u/{player.username}/").content.decode()
    assert profile.count('data-outcome="partly_right"') == 1
    assert "<dd>3 <small>43%</small></dd>" in profile  # correct bets: 3 of 7 settled

