"""The bet POST's fast route (apps.bets.fastpath, on apps.core.lean) answers exactly as the DRF view does.

Each case is sent twice with equal players: through the real ASGI application (where the fast
route answers bearer-token JSON) and through Django's test client (the DRF view). Status,
error shape and Retry-After must match; requests the fast route must not answer reach Django.
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from rest_framework_simplejwt.tokens import AccessToken

from apps.bets import fastpath
from apps.bets.auth import PlayerTokenAuthentication
from apps.bets.models import Bet
from apps.bets.services import race_odds_publish
from apps.races.models import Race
from stockrace.asgi import application
from tests.bets.factories import BetsRaceFactory
from tests.support.asgi import asgi_call, count_lean_answers
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the fast route works on its own threads


@pytest.fixture(autouse=True)
def _count_fast_answers(monkeypatch):
    PlayerTokenAuthentication.verified.clear()
    return count_lean_answers(monkeypatch, fastpath.BetRoute)


def _asgi(path: str, body: bytes, headers: list[tuple[bytes, bytes]]):
    status, answer_headers, content = asgi_call(application, "POST", path, body=body, headers=headers,
                                                client=("10.1.2.3", 5000), timeout=10)
    return status, answer_headers, json.loads(content)


_players = iter(range(10**6))


def _both(client, race_id, body: dict, *, balance=None, extra=()):
    """(fast answer, Django answer) for the same bet from two equal new players."""
    answers = []
    for route in ("fast", "django"):
        player = UserFactory(username=f"{route}-{next(_players)}", balance=balance)
        token = str(AccessToken.for_user(player))
        raw = json.dumps(body).encode()
        if route == "fast":
            answers.append(_asgi(f"/api/v1/races/{race_id}/bets/", raw,
                                 [(b"authorization", f"Bearer {token}".encode()),
                                  (b"content-type", b"application/json"), *extra]))
        else:
            response = client.post(f"/api/v1/races/{race_id}/bets/", raw, content_type="application/json",
                                   HTTP_AUTHORIZATION=f"Bearer {token}", REMOTE_ADDR="10.1.2.3",
                                   **{f"HTTP_{k.decode().upper().replace('-', '_')}": v.decode() for k, v in extra})
            answers.append((response.status_code, {k.lower(): v for k, v in response.items()}, response.json()))
    return answers


def _same_bet(fast: dict, slow: dict):
    # Placed a moment apart: the early-bet factor (and so the most the bet can pay) may differ a hair.
    ignore = {"id", "placed_at", "timing", "potential_payout"}
    assert {k: v for k, v in fast.items() if k not in ignore} == {k: v for k, v in slow.items() if k not in ignore}
    assert abs(fast["timing"] - slow["timing"]) < 0.001
    assert abs(fast["potential_payout"] - slow["potential_payout"]) <= 1


@pytest.mark.parametrize("body", [
    {"kind": "winner", "stake": 25, "symbol": "AAPL"},
    {"kind": "bracket", "stake": 10, "symbol": "MSFT", "low_pct": -0.1, "high_pct": 0.2},
    {"kind": "podium", "stake": 5, "symbols": ["AAPL", "MSFT", "TSLA"]},
])
def test_accepted_bets_are_the_same(client, settings, _count_fast_answers, body):
    settings.BET_COOLDOWN_SECONDS = 0
    race = BetsRaceFactory()
    race_odds_publish(race_id=race.pk)
    (fs, fh, fb), (ds, _, db_) = _both(client, race.pk, body)
    assert fs == ds == 201
    _same_bet(fb, db_)
    assert len(_count_fast_answers) == 1  # the first went the fast way, the test client's did not
    assert fh["x-content-type-options"] == "nosniff" and fh["x-frame-options"] == settings.X_FRAME_OPTIONS
    assert Bet.objects.filter(race=race).count() == 2


@pytest.mark.parametrize("body, balance, status, code", [
    ({"stake": 5, "symbol": "AAPL"}, None, 400, "invalid"),
    ({"kind": "winner", "stake": 5, "symbol": "ZZZZ"}, None, 400, "unknown_symbol"),
    ({"kind": "winner", "stake": "lots", "symbol": "AAPL"}, None, 400, "invalid"),
    ({"kind": "winner", "stake": 100, "symbol": "AAPL"}, 40, 409, "insufficient_points"),
    ({"kind": "winner", "stake": 501, "symbol": "AAPL"}, 5000, 400, None),  # over the per-race cap at once
    # The pricing rules (the race has no history: every stock moves about 0.13 % in 5 minutes).
    ({"kind": "bracket", "stake": 5, "symbol": "AAPL", "low_pct": -1.0, "high_pct": 1.0}, None, 422, "near_certain"),
    ({"kind": "bracket", "stake": 5, "symbol": "AAPL", "low_pct": -0.2, "high_pct": 5.0}, None, 400,
     "bracket_out_of_range"),
    ({"kind": "bracket", "stake": 5, "symbol": "AAPL", "low_pct": 0.0, "high_pct": 0.05}, None, 400,
     "bracket_too_narrow"),
])
def test_refusals_are_the_same(client, settings, body, balance, status, code):
    race = BetsRaceFactory()
    race_odds_publish(race_id=race.pk)
    (fs, _, fb), (ds, _, db_) = _both(client, race.pk, body, balance=balance)
    assert fs == ds == status
    assert fb == db_ and fb["error"]["code"] == (code or db_["error"]["code"])
    assert Bet.objects.filter(race=race).count() == 0


def test_the_stake_cap_across_bets_is_refused_the_same(client, settings):
    settings.BET_COOLDOWN_SECONDS = 0
    race = BetsRaceFactory()
    race_odds_publish(race_id=race.pk)
    for route in ("fast", "django"):
        player = UserFactory(username=f"capped-{route}", balance=5000)
        token = str(AccessToken.for_user(player))
        answers = []
        for stake in (400, 200):
            raw = json.dumps({"kind": "winner", "stake": stake, "symbol": "AAPL"}).encode()
            if route == "fast":
                status, _, body = _asgi(f"/api/v1/races/{race.pk}/bets/", raw,
                                        [(b"authorization", f"Bearer {token}".encode()),
                                         (b"content-type", b"application/json")])
            else:
                response = client.post(f"/api/v1/races/{race.pk}/bets/", raw, content_type="application/json",
                                       HTTP_AUTHORIZATION=f"Bearer {token}")
                status, body = response.status_code, response.json()
            answers.append((status, body.get("error")))
        assert answers[0][0] == 201
        assert answers[1] == (409, {"code": "stake_cap", "message": answers[1][1]["message"], "fields": {}})
        assert "at most 500" in answers[1][1]["message"] and "400 on it already" in answers[1][1]["message"]


def test_unknown_and_closed_races_are_refused_the_same(client):
    (fs, _, fb), (ds, _, db_) = _both(client, 987654, {"kind": "winner", "stake": 5, "symbol": "AAPL"})
    assert fs == ds == 404 and fb == db_
    race = BetsRaceFactory(state=Race.State.SCHEDULED, starts_in=timedelta(hours=2))
    (fs, _, fb), (ds, _, db_) = _both(client, race.pk, {"kind": "winner", "stake": 5, "symbol": "AAPL"})
    assert fs == ds == 409 and fb["error"]["code"] == db_["error"]["code"] == "race_not_open"


def test_a_bet_inside_the_close_window_is_refused_the_same(client, settings):
    """Betting closes BET_CLOSE_BEFORE_START_SECONDS before the start (the race starts in 5 minutes)."""
    race = BetsRaceFactory()
    race_odds_publish(race_id=race.pk)
    settings.BET_CLOSE_BEFORE_START_SECONDS = 360
    (fs, _, fb), (ds, _, db_) = _both(client, race.pk, {"kind": "winner", "stake": 5, "symbol": "AAPL"})
    assert fs == ds == 409 and fb == db_
    assert fb["error"]["code"] == "betting_closed" and "before the start" in fb["error"]["message"]
    assert Bet.objects.filter(race=race).count() == 0


def test_a_near_certain_winner_is_refused_the_same(client, settings):
    race = BetsRaceFactory()
    race_odds_publish(race_id=race.pk)
    settings.BET_MAX_WIN_PROBABILITY = 0.2  # every stock of this race has a 25 % chance
    (fs, _, fb), (ds, _, db_) = _both(client, race.pk, {"kind": "winner", "stake": 5, "symbol": "AAPL"})
    assert fs == ds == 422 and fb == db_
    assert fb["error"]["code"] == "near_certain" and "almost certain" in fb["error"]["message"]
    assert Bet.objects.filter(race=race).count() == 0


def test_rate_limit_gives_the_same_429_and_retry_after(client, settings):
    rest = {**settings.REST_FRAMEWORK}
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], "bets_ip": "1/hour"}
    settings.REST_FRAMEWORK = rest
    race = BetsRaceFactory()
    race_odds_publish(race_id=race.pk)
    body = {"kind": "winner", "stake": 5, "symbol": "AAPL"}
    first_fast, first_django = _both(client, race.pk, body)
    assert first_fast[0] == 201 and first_django[0] == 429  # one address: the second bet is over the limit
    second_fast, _ = _both(client, race.pk, body)
    assert second_fast[0] == 429
    # The two answers come a moment apart, so the wait they name may differ by the second that passed.
    fast_wait, django_wait = int(second_fast[1]["retry-after"]), int(first_django[1]["retry-after"])
    assert 1 <= fast_wait <= 3600 and abs(fast_wait - django_wait) <= 1
    assert second_fast[1]["content-type"] == first_django[1]["content-type"]
    fast_error, django_error = second_fast[2]["error"], first_django[2]["error"]
    assert {k: v for k, v in fast_error.items() if k != "message"} == {k: v for k, v in django_error.items()
                                                                         if k != "message"}
    assert f"in {django_wait} s." in django_error["message"]  # the message names the wait it sends
    assert fast_error["message"] == django_error["message"].replace(f"{django_wait} s", f"{fast_wait} s")
    assert set(second_fast[2]) == set(first_django[2]) == {"error"}


def test_idempotency_key_replays_the_first_bet(settings):
    settings.BET_COOLDOWN_SECONDS = 0
    race = BetsRaceFactory()
    race_odds_publish(race_id=race.pk)
    token = str(AccessToken.for_user(UserFactory(username="retrying")))
    headers = [(b"authorization", f"Bearer {token}".encode()), (b"content-type", b"application/json"),
               (b"idempotency-key", b"try-1")]
    body = json.dumps({"kind": "winner", "stake": 5, "symbol": "AAPL"}).encode()
    first = _asgi(f"/api/v1/races/{race.pk}/bets/", body, headers)
    again = _asgi(f"/api/v1/races/{race.pk}/bets/", body, headers)
    assert first[0] == 201 and again[0] == 201 and first[2]["id"] == again[2]["id"]
    assert Bet.objects.filter(race=race).count() == 1


@pytest.mark.parametrize("headers, status", [
    ([(b"authorization", b"Bearer not-a-token"), (b"content-type", b"application/json")], 401),
    ([(b"content-type", b"application/json")], 401),  # no token at all
    ([(b"authorization", b"Bearer x"), (b"content-type", b"text/plain")], 401),
])
def test_what_the_fast_route_does_not_answer_reaches_django(_count_fast_answers, headers, status):
    race = BetsRaceFactory()
    status_, _, body = _asgi(f"/api/v1/races/{race.pk}/bets/",
                             json.dumps({"kind": "winner", "stake": 5, "symbol": "AAPL"}).encode(), headers)
    assert status_ == status and body["error"]["message"]  # DRF's 401, in the error shape
    assert _count_fast_answers == []


def test_a_session_cookie_goes_to_django(_count_fast_answers, settings):
    settings.BET_COOLDOWN_SECONDS = 0
    race = BetsRaceFactory()
    race_odds_publish(race_id=race.pk)
    token = str(AccessToken.for_user(UserFactory(username="with-cookie")))
    status, _, body = _asgi(f"/api/v1/races/{race.pk}/bets/",
                            json.dumps({"kind": "winner", "stake": 5, "symbol": "AAPL"}).encode(),
                            [(b"authorization", f"Bearer {token}".encode()), (b"content-type", b"application/json"),
                             (b"cookie", b"sessionid=whatever")])
    assert status == 201, body
    assert body["race"] == race.pk
    assert _count_fast_answers == []  # answered by the DRF view


SECURITY_HEADERS = {"x-content-type-options", "referrer-policy", "cross-origin-opener-policy", "x-frame-options",
                    "strict-transport-security"}


@pytest.mark.parametrize("proto", [None, b"https"])
def test_the_fast_route_sends_the_security_headers_the_drf_route_sends(client, settings, _count_fast_answers, proto):
    """The headers come from Django's own middleware (apps.core.security_headers), settings included."""
    settings.BET_COOLDOWN_SECONDS = 0
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS, settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = 3600, True
    settings.X_FRAME_OPTIONS, settings.SECURE_REFERRER_POLICY = "SAMEORIGIN", "no-referrer"
    race = BetsRaceFactory()
    race_odds_publish(race_id=race.pk)
    extra = [(b"x-forwarded-proto", proto)] if proto else []
    (fs, fast, _), (ds, drf, _) = _both(client, race.pk, {"kind": "winner", "stake": 5, "symbol": "AAPL"}, extra=extra)
    assert fs == ds == 201 and len(_count_fast_answers) == 1
    security = {name: value for name, value in drf.items() if name in SECURITY_HEADERS}
    assert ("strict-transport-security" in security) == (proto is not None), security
    assert security["referrer-policy"] == "no-referrer"
    assert {name: value for name, value in fast.items() if name not in ("content-type", "content-length")} == security


def test_plain_http_goes_to_django_when_the_site_redirects_to_https(settings, _count_fast_answers):
    settings.SECURE_SSL_REDIRECT = True
    token = str(AccessToken.for_user(UserFactory(username="plain-http")))
    _asgi("/api/v1/races/999999/bets/", json.dumps({"kind": "winner", "stake": 5, "symbol": "AAPL"}).encode(),
          [(b"authorization", f"Bearer {token}".encode()), (b"content-type", b"application/json")])
    assert _count_fast_answers == []  # Django's SecurityMiddleware answers it (its redirect)
