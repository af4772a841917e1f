"""Placing bets through POST /api/v1/races/{id}/bets/: what is accepted, what is refused and why.

Every refusal is a 4xx in the error shape and writes nothing (rows counted before and after).
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from apps.bets import pricing
from apps.bets.models import Bet, RaceStake
from apps.bets.selectors import race_card
from apps.bets.services import bet_place
from apps.points.models import LedgerEntry, PointsAccount
from apps.races.models import Race
from tests.bets.factories import BetsRaceFactory
from tests.support.factories import UserFactory
from tests.support.ledger import assert_ledger_balanced


def url(race_id) -> str:
    return f"/api/v1/races/{race_id}/bets/"


def snapshot(user_id: int) -> tuple:
    return (Bet.objects.count(), LedgerEntry.objects.count(), RaceStake.objects.count(),
            PointsAccount.objects.get(user_id=user_id).balance)


def assert_refused(response, status: int, code: str | None = None, contains: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code, body
    if contains:
        assert contains in body["error"]["message"], body
    return body["error"]


@pytest.mark.django_db
def test_winner_bet_is_placed_with_fixed_odds_and_debited_through_the_ledger(bettor_client, bettor, race, settings):
    response = bettor_client.post(url(race.pk), {"kind": "winner", "stake": 50, "symbol": "aapl"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    bet = Bet.objects.get(pk=body["id"])
    assert body["kind"] == "winner" and body["symbol"] == "AAPL" and body["stake"] == 50
    assert Decimal(body["odds"]) == bet.odds > 1
    # The most it can pay: the stake × the odds × its early-bet factor × the largest field × the best streak.
    assert body["potential_payout"] == bet.potential_payout == int(50 * float(bet.odds) * bet.timing * 1.075 * 1.1)
    entry = LedgerEntry.objects.get(bet_id=bet.pk)
    assert entry.kind == "stake" and entry.amount == -50 and entry.race_id == race.pk
    assert_ledger_balanced(bettor.pk, balance=settings.SIGNUP_BONUS - 50)
    assert entry.balance_after == settings.SIGNUP_BONUS - 50
    assert RaceStake.objects.get(user=bettor, race=race).total == 50


@pytest.mark.django_db
def test_bracket_and_podium_bets(bettor_client, race, settings):
    settings.BET_COOLDOWN_SECONDS = 0
    bracket = bettor_client.post(url(race.pk), {"kind": "bracket", "stake": 20, "symbol": "MSFT", "low_pct": 0.1,
                                                "high_pct": 0.4}, format="json")
    assert bracket.status_code == 201, bracket.content
    assert bracket.json()["low_pct"] == 0.1 and bracket.json()["high_pct"] == 0.4
    podium = bettor_client.post(url(race.pk), {"kind": "podium", "stake": 10, "symbols": ["TSLA", "AAPL", "MSFT"]},
                                format="json")
    assert podium.status_code == 201, podium.content
    assert podium.json()["symbols"] == ["TSLA", "AAPL", "MSFT"]
    # Priced on the podium's expected accuracy (exact order and partial credit) under the race's model.
    card = race_card(race)
    expected = card["podium"][pricing.podium_picks(4).index((2, 0, 1))]
    assert Decimal(podium.json()["odds"]) == pricing.round_odds(pricing.raw_odds(expected, "podium", 0.05), "podium")


@pytest.mark.django_db
def test_house_bettors_call_the_service_without_http(race):
    house = UserFactory(username="house-1")
    bet = bet_place(user=house, race_id=race.pk, kind="podium", stake=5, symbols=["MSFT", "AAPL", "NVDA"])
    assert bet.pk and bet.podium == ["MSFT", "AAPL", "NVDA"] and bet.client_ip is None
    assert Bet.objects.get(pk=bet.pk).potential_payout == bet.potential_payout


BAD_BODIES = [
    ({"kind": "exacta", "stake": 50, "symbol": "AAPL"}, 400, "invalid_kind"),
    ({"stake": 50, "symbol": "AAPL"}, 400, "invalid"),
    ({"kind": "winner", "stake": 0, "symbol": "AAPL"}, 400, "stake_too_low"),
    ({"kind": "winner", "stake": -5, "symbol": "AAPL"}, 400, "stake_too_low"),
    ({"kind": "winner", "stake": 2.5, "symbol": "AAPL"}, 400, "invalid"),
    ({"kind": "winner", "stake": "lots", "symbol": "AAPL"}, 400, "invalid"),
    ({"kind": "winner", "stake": 10**15, "symbol": "AAPL"}, 400, "invalid"),
    ({"kind": "winner", "stake": 501, "symbol": "AAPL"}, 400, "stake_too_high"),
    ({"kind": "winner", "stake": 50}, 400, "invalid"),
    ({"kind": "winner", "stake": 50, "symbol": "GME"}, 400, "unknown_symbol"),
    ({"kind": "winner", "stake": 50, "symbol": "AAPL", "symbols": ["AAPL"]}, 400, "invalid"),
    ({"kind": "bracket", "stake": 50, "symbol": "AAPL", "low_pct": 4, "high_pct": 2}, 400, "invalid"),
    ({"kind": "bracket", "stake": 50, "symbol": "AAPL", "low_pct": 2, "high_pct": 2}, 400, "invalid"),
    ({"kind": "bracket", "stake": 50, "symbol": "AAPL", "low_pct": 2}, 400, "invalid"),
    ({"kind": "bracket", "stake": 50, "symbol": "AAPL", "low_pct": -80, "high_pct": 2}, 400, "invalid"),
    ({"kind": "bracket", "stake": 50, "symbol": "AAPL", "low_pct": "NaN", "high_pct": 2}, 400, "invalid"),
    ({"kind": "bracket", "stake": 50, "symbol": "GME", "low_pct": 1, "high_pct": 2}, 400, "unknown_symbol"),
    ({"kind": "podium", "stake": 50, "symbols": ["AAPL", "AAPL", "MSFT"]}, 400, "invalid"),
    ({"kind": "podium", "stake": 50, "symbols": ["AAPL", "MSFT"]}, 400, "invalid"),
    ({"kind": "podium", "stake": 50, "symbols": ["AAPL", "MSFT", "GME"]}, 400, "unknown_symbol"),
    ({"kind": "podium", "stake": 50, "symbols": "AAPL,MSFT,TSLA"}, 400, "invalid"),
    ({"kind": "podium", "stake": 50, "symbols": ["AAPL", "MSFT", "TSLA"], "symbol": "AAPL"}, 400, "invalid"),
    ([1, 2, 3], 400, None),
]


@pytest.mark.django_db
@pytest.mark.parametrize("body,status,code", BAD_BODIES)
def test_bad_bodies_are_refused_and_write_nothing(bettor_client, bettor, race, body, status, code):
    before = snapshot(bettor.pk)
    assert_refused(bettor_client.post(url(race.pk), body, format="json"), status, code)
    assert snapshot(bettor.pk) == before


@pytest.mark.django_db
def test_malformed_json_is_a_400(bettor_client, bettor, race):
    before = snapshot(bettor.pk)
    response = bettor_client.generic("POST", url(race.pk), '{"kind": "winner", "stake": 5',
                                     content_type="application/json")
    assert_refused(response, 400, "parse_error")
    assert snapshot(bettor.pk) == before


@pytest.mark.django_db
def test_unknown_race_is_a_404(bettor_client, bettor, race):
    before = snapshot(bettor.pk)
    for race_id in (race.pk + 1000, 2**63 + 5):
        assert_refused(bettor_client.post(url(race_id), {"kind": "winner", "stake": 5, "symbol": "AAPL"},
                                          format="json"), 404, "not_found")
    assert snapshot(bettor.pk) == before


@pytest.mark.django_db
@pytest.mark.parametrize("state,code,words", [
    (Race.State.SCHEDULED, "race_not_open", "not open yet"),
    (Race.State.RUNNING, "race_started", "already started"),
    (Race.State.CALCULATING, "race_started", "already started"),
    (Race.State.COMPLETED, "race_started", "already started"),
    (Race.State.CANCELLED, "race_cancelled", "cancelled"),
])
def test_bets_only_while_the_race_is_open(bettor_client, bettor, state, code, words):
    race = BetsRaceFactory(state=state)
    before = snapshot(bettor.pk)
    assert_refused(bettor_client.post(url(race.pk), {"kind": "winner", "stake": 5, "symbol": "AAPL"}, format="json"),
                   409, code, words)
    assert snapshot(bettor.pk) == before


@pytest.mark.django_db
def test_no_bet_after_the_start_even_if_the_race_is_still_marked_open(bettor_client, bettor):
    """The lifecycle may be a moment late moving the race to running: Redis time decides."""
    race = BetsRaceFactory()
    Race.objects.filter(pk=race.pk).update(starts_at=race.starts_at - timedelta(minutes=6),
                                           betting_opens_at=race.betting_opens_at - timedelta(minutes=6))
    before = snapshot(bettor.pk)
    assert_refused(bettor_client.post(url(race.pk), {"kind": "winner", "stake": 5, "symbol": "AAPL"}, format="json"),
                   409, "race_started")
    assert snapshot(bettor.pk) == before


@pytest.mark.django_db
def test_insufficient_points_says_how_many_you_have(api_client, race):
    poor = UserFactory(username="poor", balance=40)
    api_client.force_authenticate(poor)
    before = snapshot(poor.pk)
    error = assert_refused(api_client.post(url(race.pk), {"kind": "winner", "stake": 50, "symbol": "AAPL"},
                                           format="json"), 409, "insufficient_points")
    assert "you have 40, this bet needs 50" in error["message"]
    assert snapshot(poor.pk) == before


@pytest.mark.django_db
def test_the_stake_cap_counts_every_bet_on_the_race(bettor_client, bettor, race, settings):
    settings.BET_COOLDOWN_SECONDS = 0
    for _ in range(3):
        assert bettor_client.post(url(race.pk), {"kind": "winner", "stake": 150, "symbol": "AAPL"},
                                  format="json").status_code == 201
    before = snapshot(bettor.pk)
    error = assert_refused(bettor_client.post(url(race.pk), {"kind": "winner", "stake": 100, "symbol": "AAPL"},
                                              format="json"), 409, "stake_cap")
    assert "at most 500" in error["message"] and "you have 450 on it already" in error["message"]
    assert snapshot(bettor.pk) == before
    other = BetsRaceFactory(title="Another race")  # the cap is per race
    assert bettor_client.post(url(other.pk), {"kind": "winner", "stake": 100, "symbol": "AAPL"},
                              format="json").status_code == 201


@pytest.mark.django_db
def test_cooldown_between_bets(bettor_client, bettor, race, settings):
    settings.BET_COOLDOWN_SECONDS = 30
    assert bettor_client.post(url(race.pk), {"kind": "winner", "stake": 5, "symbol": "AAPL"},
                              format="json").status_code == 201
    before = snapshot(bettor.pk)
    response = bettor_client.post(url(race.pk), {"kind": "winner", "stake": 5, "symbol": "MSFT"}, format="json")
    error = assert_refused(response, 429, "cooldown")
    assert error["message"].startswith("Wait ") and "30 s" in error["message"]
    assert 1 <= int(response.headers["Retry-After"]) <= 30
    assert snapshot(bettor.pk) == before


@pytest.mark.django_db
def test_min_stake_setting(bettor_client, race, settings):
    settings.BET_MIN_STAKE = 10
    assert_refused(bettor_client.post(url(race.pk), {"kind": "winner", "stake": 9, "symbol": "AAPL"}, format="json"),
                   400, "stake_too_low", "smallest stake is 10")


@pytest.mark.django_db
def test_anonymous_players_cannot_bet(api_client, race):
    response = api_client.post(url(race.pk), {"kind": "winner", "stake": 5, "symbol": "AAPL"}, format="json")
    assert response.status_code in (401, 403) and "error" in response.json()
    assert Bet.objects.count() == 0


@pytest.mark.django_db
def test_idempotency_key_replays_the_first_bet_and_refuses_a_different_one(bettor_client, bettor, race):
    body = {"kind": "winner", "stake": 25, "symbol": "TSLA"}
    first = bettor_client.post(url(race.pk), body, format="json", HTTP_IDEMPOTENCY_KEY="retry-1")
    again = bettor_client.post(url(race.pk), body, format="json", HTTP_IDEMPOTENCY_KEY="retry-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Bet.objects.filter(user=bettor).count() == 1
    before = snapshot(bettor.pk)
    assert_refused(bettor_client.post(url(race.pk), {**body, "stake": 26}, format="json",
                                      HTTP_IDEMPOTENCY_KEY="retry-1"), 422, "idempotency_key_reused")
    assert_refused(bettor_client.post(url(race.pk), body, format="json", HTTP_IDEMPOTENCY_KEY="x" * 121), 400)
    assert snapshot(bettor.pk) == before


@pytest.mark.django_db
def test_bets_are_never_changed_or_cancelled_through_the_api(bettor_client, race):
    bet = bettor_client.post(url(race.pk), {"kind": "winner", "stake": 5, "symbol": "AAPL"}, format="json").json()
    for method in ("put", "patch", "delete"):
        response = getattr(bettor_client, method)(url(race.pk), {"stake": 1}, format="json")
        assert response.status_code == 405 and "error" in response.json()
        assert getattr(bettor_client, method)(f"{url(race.pk)}{bet['id']}/").status_code == 404
    assert Bet.objects.get(pk=bet["id"]).stake == 5


@pytest.mark.django_db
def test_a_deactivated_player_cannot_bet_with_a_token_issued_before(client, race):
    from rest_framework_simplejwt.tokens import AccessToken

    player = UserFactory(username="banned")
    token = AccessToken.for_user(player)
    type(player).objects.filter(pk=player.pk).update(is_active=False)
    before = snapshot(player.pk)
    response = client.post(url(race.pk), {"kind": "winner", "stake": 5, "symbol": "AAPL"},
                           content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert_refused(response, 403, "account_disabled")
    assert snapshot(player.pk) == before
