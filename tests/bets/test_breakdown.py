"""'Pays up to' is a true maximum, and a settled bet shows how its payout was computed: the factors,
in the order they multiply, in the bet API and on the race page (issue 14, item 3)."""
from __future__ import annotations

import pytest

from apps.bets.models import Bet
from apps.bets.services import bet_place, race_odds_publish
from apps.races import settlement
from apps.races.models import Race
from tests.bets.factories import BetsRaceFactory
from tests.support import factories as f

pytestmark = pytest.mark.django_db
PCT = {"AAPL": 0.12, "MSFT": 0.05, "TSLA": -0.02, "NVDA": -0.2}  # AAPL, MSFT, TSLA, NVDA


def _settled_race_with_bets(settings):
    settings.BET_COOLDOWN_SECONDS = 0
    race = BetsRaceFactory()
    race_odds_publish(race_id=race.pk)
    player = f.UserFactory(username="explained", balance=5000)
    others = [f.UserFactory(username=f"crowd-{i}") for i in range(5)]
    bets = [
        bet_place(user=player, race_id=race.pk, kind="winner", stake=100, symbol="AAPL"),
        bet_place(user=player, race_id=race.pk, kind="winner", stake=50, symbol="TSLA"),
        bet_place(user=player, race_id=race.pk, kind="bracket", stake=40, symbol="MSFT", low_pct=0.0, high_pct=0.1),
        bet_place(user=player, race_id=race.pk, kind="podium", stake=30, symbols=["AAPL", "TSLA", "MSFT"]),
        bet_place(user=player, race_id=race.pk, kind="podium", stake=30, symbols=["NVDA", "TSLA", "AAPL"]),
    ]
    for other in others:
        bet_place(user=other, race_id=race.pk, kind="winner", stake=10, symbol="NVDA")
    Race.objects.filter(pk=race.pk).update(state=Race.State.CALCULATING)
    f.lock_results(race, PCT)
    settlement.race_settle(race_id=race.pk)
    return race, player, bets


def _multiplied(b: dict) -> float:
    total = b["stake"] * b["odds"]
    for factor in ("accuracy", "timing", "participants", "streak"):
        total *= b[factor]
    return total


def test_the_bet_api_shows_each_settled_bets_breakdown(settings, api_client, django_assert_max_num_queries):
    race, player, placed = _settled_race_with_bets(settings)
    api_client.force_authenticate(player)
    with django_assert_max_num_queries(3):  # count, the page, and the page's race results once
        body = api_client.get("/api/v1/me/bets/").json()
    shown = {b["id"]: b for b in body["results"]}
    assert len(shown) == 5
    for bet in placed:
        stored = Bet.objects.get(pk=bet.pk)
        b = shown[bet.pk]["breakdown"]
        assert b["payout"] == stored.payout == shown[bet.pk]["payout"]
        assert b["max_payout"] == bet.potential_payout == shown[bet.pk]["potential_payout"]
        assert stored.payout <= bet.potential_payout  # never above what was shown when it was placed
        if b["accuracy"] > 0:
            assert int(_multiplied(b) + 1e-9) == b["payout"] and _multiplied(b) == pytest.approx(b["total"])
        else:
            assert b["payout"] == 0
        assert b["odds"] == float(bet.odds) and b["timing"] == bet.timing
    by_pick = {tuple(shown[b.pk]["symbols"] or [shown[b.pk]["symbol"]]): shown[b.pk]["breakdown"] for b in placed}
    assert by_pick[("AAPL",)]["accuracy"] == 1.0 and by_pick[("TSLA",)]["accuracy"] == 0.0
    assert by_pick[("AAPL", "TSLA", "MSFT")]["accuracy"] == pytest.approx(0.45)  # AAPL in place, two swapped
    assert by_pick[("NVDA", "TSLA", "AAPL")]["accuracy"] == pytest.approx(0.20)  # TSLA and AAPL, both misplaced
    assert by_pick[("AAPL",)]["participants"] > 1.0  # six players bet


def test_an_open_bet_has_no_breakdown_yet(settings, api_client):
    race = BetsRaceFactory()
    race_odds_publish(race_id=race.pk)
    player = f.UserFactory(username="waiting")
    bet_place(user=player, race_id=race.pk, kind="winner", stake=10, symbol="AAPL")
    api_client.force_authenticate(player)
    (row,) = api_client.get("/api/v1/me/bets/").json()["results"]
    assert row["breakdown"] is None and row["potential_payout"] > 10 * float(row["odds"])


def test_the_race_page_shows_how_each_payout_multiplies(settings, client):
    race, player, placed = _settled_race_with_bets(settings)
    Race.objects.filter(pk=race.pk).update(state=Race.State.COMPLETED)
    client.force_login(player)
    html = client.get(f"/races/{race.pk}/").content.decode()
    assert html.count('class="bet-breakdown') == 5
    won = Bet.objects.get(pk=placed[0].pk)
    assert f"→ {won.payout:,} pts" in html.replace("\u202f", ",") or f"→ {won.payout} pts" in html
    assert "(exact order)" not in html and "(partial call)" in html


def test_the_bet_form_explains_partial_podium_credit(client):
    race = BetsRaceFactory()
    race_odds_publish(race_id=race.pk)
    client.force_login(f.UserFactory(username="reader"))
    html = client.get(f"/races/{race.pk}/").content.decode()
    assert "25 % for each stock in its exact place" in html and "none of yours in the top three pays nothing" in html
    preview = client.get(f"/races/{race.pk}/bet/preview/", {"kind": "winner", "stake": "100", "symbol": "AAPL"})
    text = preview.content.decode()
    assert "Pays up to" in text and "your winner streak (up to +10 %)" in text
