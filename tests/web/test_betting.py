"""The race page's betting form: the bet or the refusal reason, shown in place."""
import pytest

from apps.bets.models import Bet

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def post_bet(client, race, **data):
    return client.post(f"/races/{race.pk}/bet/", data, **HX)


def test_open_race_page_shows_the_form_with_published_odds(logged_in, open_race):
    html = logged_in.get(f"/races/{open_race.pk}/").content.decode()
    assert 'name="kind"' in html and 'value="podium"' in html and 'value="bracket"' in html
    assert "&times;</span>" in html  # the winner odds on each stock's tile


def test_winner_bet_is_placed_and_confirmed(logged_in, open_race, player):
    response = post_bet(logged_in, open_race, kind="winner", stake="50", symbol="AAPL", idempotency_key="web-t1")
    assert response.status_code == 200
    assert "Bet placed!" in response.content.decode()
    assert response["HX-Trigger"] == "betPlaced"
    bet = Bet.objects.get(user=player)
    assert (bet.kind, bet.symbol, bet.stake) == ("winner", "AAPL", 50)
    mine = logged_in.get(f"/races/{open_race.pk}/part/mybets/").content.decode()
    assert "AAPL" in mine and "pays up to" in mine


def test_bracket_and_podium_bets(logged_in, open_race, settings):
    settings.BET_COOLDOWN_SECONDS = 0
    assert "Bet placed!" in post_bet(logged_in, open_race, kind="bracket", stake="20", symbol="MSFT",
                                     low_pct="0", high_pct="1").content.decode()
    assert "Bet placed!" in post_bet(logged_in, open_race, kind="podium", stake="20", first="NVDA",
                                     second="AAPL", third="MSFT").content.decode()
    assert Bet.objects.filter(race=open_race).count() == 2


def test_form_errors_show_in_place(logged_in, open_race):
    response = post_bet(logged_in, open_race, kind="winner", stake="0")
    html = response.content.decode()
    assert response.status_code == 400
    assert "Stake at least 1 point." in html and "Pick the stock you are betting on." in html
    html = post_bet(logged_in, open_race, kind="podium", stake="5", first="AAPL", second="AAPL",
                    third="MSFT").content.decode()
    assert "Pick three different stocks." in html
    assert not Bet.objects.exists()


def test_bet_refused_by_the_rules_shows_the_reason(logged_in, open_race, settings):
    response = post_bet(logged_in, open_race, kind="winner", stake=str(settings.BET_MAX_STAKE_PER_RACE + 1),
                        symbol="AAPL")
    assert response.status_code in (400, 409)
    html = response.content.decode()
    assert "Bet refused" in html and f"at most {settings.BET_MAX_STAKE_PER_RACE} points" in html
    assert not Bet.objects.exists()


def test_bet_on_a_started_race_is_refused(logged_in, races):
    response = post_bet(logged_in, races["running"], kind="winner", stake="10", symbol="AAPL")
    assert response.status_code == 409
    assert "already started" in response.content.decode()


def test_without_htmx_the_whole_page_comes_back(logged_in, open_race):
    response = logged_in.post(f"/races/{open_race.pk}/bet/", {"kind": "winner", "stake": "10", "symbol": "MSFT"})
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html and "Bet placed!" in html


def test_visitors_are_asked_to_log_in(client, open_race):
    html = client.get(f"/races/{open_race.pk}/").content.decode()
    assert "to bet with free points" in html
    assert client.post(f"/races/{open_race.pk}/bet/", {"kind": "winner"})["Location"].startswith("/login/")


def test_payout_preview(client, open_race):
    html = client.get(f"/races/{open_race.pk}/bet/preview/",
                      {"kind": "bracket", "stake": "100", "symbol": "AAPL", "low_pct": "0", "high_pct": "0.5"}
                      ).content.decode()
    assert "Pays up to" in html
    html = client.get(f"/races/{open_race.pk}/bet/preview/", {"kind": "winner", "stake": "x"}).content.decode()
    assert "whole number" in html
