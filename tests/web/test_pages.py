"""Every player page renders for an anonymous visitor and for a logged-in player."""
import pytest

pytestmark = pytest.mark.django_db


def page_urls(races, player):
    race_pages = [f"/races/{race.pk}/" for race in races.values()]
    parts = [f"/races/{races['open'].pk}/part/{part}/" for part in ("head", "betting", "mybets", "results")]
    return ["/", "/lobby/races/", "/lobby/races/?duration=5m&theme=tech", "/?duration=bogus&theme=x",
            *race_pages, *parts, "/leaderboards/", "/leaderboards/?board=weekly", "/leaderboards/?board=nope",
            f"/u/{player.username}/", "/stocks/", "/stocks/?q=apple&sector=Technology&performance=gainers&ordering=-change",
            "/stocks/?performance=bogus&ordering=bogus", "/stocks/AAPL/", "/stocks/BRK.B/", "/signup/", "/login/",
            f"/races/{races['open'].pk}/bet/preview/?kind=winner&stake=50&symbol=AAPL"]


def test_every_page_renders_for_anonymous(client, races, player):
    for url in page_urls(races, player):
        response = client.get(url)
        assert response.status_code == 200, url


def test_every_page_renders_for_a_player(logged_in, races, player):
    for url in [*page_urls(races, player), "/watchlist/", "/me/balance/"]:
        response = logged_in.get(url)
        assert response.status_code == 200, url
    assert logged_in.get("/me/").status_code == 302


def test_htmx_partials(logged_in, races):
    for url in ("/stocks/?q=micro", "/leaderboards/?board=monthly"):
        response = logged_in.get(url, HTTP_HX_REQUEST="true")
        assert response.status_code == 200 and b"<html" not in response.content, url


def test_player_only_pages_send_visitors_to_login(client, stocks):
    assert client.get("/watchlist/")["Location"].startswith("/login/")
    assert client.get("/me/")["Location"].startswith("/login/")


def test_unknown_things_are_404(client, stocks):
    assert client.get("/races/999999/").status_code == 404
    assert client.get("/stocks/NOPE/").status_code == 404
    assert client.get("/u/nobody-here/").status_code == 404
    assert client.get("/races/1/part/bogus/").status_code == 404


def test_lobby_lists_races_by_state_with_countdowns(client, races):
    html = client.get("/").content.decode()
    for title in ("Open race", "Scheduled race", "Running race", "Completed race"):
        assert title in html
    assert "data-countdown" in html and 'hx-trigger="every 5s' in html


def test_lobby_filters_by_duration(client, races):
    html = client.get("/lobby/races/?duration=1h").content.decode()
    assert "Open race" not in html and "No races match" in html


def test_completed_race_shows_final_order_result_and_race_leaderboard(logged_in, settled_bet):
    html = logged_in.get(f"/races/{settled_bet.race_id}/").content.decode()
    assert "Final order" in html and "+3.00%" in html
    assert "+64 pts" in html  # won 104 on a stake of 40
    board = html.split("Race leaderboard", 1)[1]
    assert "player1" in board and "104" in board


def test_own_profile_shows_balance_and_ledger_public_does_not(client, logged_in, player, django_user_model):
    own = logged_in.get(f"/u/{player.username}/").content.decode()
    assert "Balance" in own and "Points history" in own and "Signup Bonus" in own
    client.logout()
    other = client.get(f"/u/{player.username}/").content.decode()
    assert "Points history" not in other and "Badge showcase" in other


def test_stock_page_by_lower_case_ticker_redirects(client, stocks):
    response = client.get("/stocks/brk.b/")
    assert response.status_code == 302 and response["Location"] == "/stocks/BRK.B/"


def test_leaderboard_lists_players_with_streaks(client, settled_bet, player):
    from apps.leaderboards.models import LeaderboardEntry, PlayerStreak
    from apps.leaderboards.selectors import BOARDS  # noqa: F401 - the boards the page offers

    LeaderboardEntry.objects.create(board="global", period="", user=player, points=104, staked=40, bets=1, wins=1)
    PlayerStreak.objects.create(user=player, current=3, best=5)
    html = client.get("/leaderboards/").content.decode()
    assert "player1" in html and "104" in html and "3 in a row" in html


def test_auth_forms_show_errors_in_place(client, player):
    html = client.post("/signup/", {"username": "", "password": ""}).content.decode()
    assert html.count('class="field-error"') >= 2 and "has-error" in html
    html = client.post("/login/", {"username": "player1", "password": "wrong-password"}).content.decode()
    assert 'class="form-error"' in html and "correct username and password" in html


def test_lobby_poll_costs_the_same_queries_however_many_races(client, races, django_assert_max_num_queries):
    from tests.web.factories import WebRaceFactory

    with django_assert_max_num_queries(8):  # four sections, each with its entries and stocks
        client.get("/lobby/races/")
    for i in range(5):
        WebRaceFactory(state="open", title=f"Extra {i}")
    with django_assert_max_num_queries(8):
        client.get("/lobby/races/")


def test_toasts_script_only_for_players(client, logged_in, stocks):
    assert b"js/toasts.js" in logged_in.get("/").content
    logged_in.logout()
    assert b"js/toasts.js" not in client.get("/").content
