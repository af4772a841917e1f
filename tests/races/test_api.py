"""GET /api/v1/races/ and /api/v1/races/{id}/ and its leaderboard: shapes, filters, errors."""
from __future__ import annotations

import pytest

from apps.bets.services import race_odds_publish
from apps.races import settlement
from apps.races.models import Race
from tests.support import factories as f

pytestmark = pytest.mark.django_db
S = Race.State


def test_list_filters_and_paginates(api_client):
    open_race = f.RaceFactory(state=S.OPEN)
    f.RaceFactory(state=S.SCHEDULED, duration="15m")
    body = api_client.get("/api/v1/races/").json()
    assert body["count"] == 2 and len(body["results"]) == 2
    assert {"id", "title", "theme", "duration", "state", "starts_at", "stocks"} <= set(body["results"][0])
    only_open = api_client.get("/api/v1/races/?state=open").json()
    assert [r["id"] for r in only_open["results"]] == [open_race.pk]
    assert api_client.get("/api/v1/races/?duration=15m").json()["count"] == 1
    assert api_client.get("/api/v1/races/?page_size=1").json()["next"]


@pytest.mark.parametrize("query,field", [("state=flying", "state"), ("duration=2h", "duration"),
                                         ("theme=crypto", "theme")])
def test_bad_filters_are_400_in_the_error_shape(api_client, query, field):
    response = api_client.get(f"/api/v1/races/?{query}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["fields"]


@pytest.mark.parametrize("race_id", ["999999", "abc", "0", "-1", "99999999999999999999999"])
def test_unknown_race_is_404(api_client, race_id):
    for path in (f"/api/v1/races/{race_id}/", f"/api/v1/races/{race_id}/leaderboard/"):
        response = api_client.get(path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_detail_shows_stocks_odds_transitions_and_results_once_settled(api_client):
    race = f.RaceFactory(state=S.OPEN)
    race_odds_publish(race_id=race.pk)  # prices are published when betting opens
    Race.objects.filter(pk=race.pk).update(state=S.CALCULATING)
    f.lock_results(race, {"AAA": 2.0, "BBB": 1.0, "CCC": 0.0, "DDD": -1.0})
    player = f.UserFactory(username="alice")
    f.BetFactory(race=race, user=player, symbol="AAA", stake=100)
    body = api_client.get(f"/api/v1/races/{race.pk}/").json()
    assert body["state"] == "calculating" and body["results"] is None
    assert [s["symbol"] for s in body["stocks"]] == ["AAA", "BBB", "CCC", "DDD"]
    assert set(body["odds"]) == {"AAA", "BBB", "CCC", "DDD"}

    settlement.race_settle(race_id=race.pk)
    body = api_client.get(f"/api/v1/races/{race.pk}/").json()
    assert body["state"] == "completed"
    assert [r["symbol"] for r in body["results"]] == ["AAA", "BBB", "CCC", "DDD"]
    assert body["transitions"][-1]["to_state"] == "completed"

    board = api_client.get(f"/api/v1/races/{race.pk}/leaderboard/").json()
    assert board["results"][0]["username"] == "alice" and board["results"][0]["rank"] == 1
