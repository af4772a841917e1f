"""The market trade POST's lean route (apps.markets.fastpath, on apps.core.lean) engages for
bearer-token JSON and answers exactly as the DRF view does; anything unusual reaches Django.

Each case is sent twice, by two equal new players on two equal new markets: through the real ASGI
application (where the lean route answers) and through Django's test client (the DRF view, with
the same bearer token). Status, body (ids and times aside), the error shape and Retry-After must
match.
"""
from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle
from rest_framework_simplejwt.tokens import AccessToken

from apps.bets.auth import PlayerTokenAuthentication
from apps.core.redis import redis_now
from apps.markets import fastpath
from apps.markets.api import MarketTradesView
from apps.markets.models import Market, MarketTrade
from apps.markets.pricing import Order
from apps.markets.services import market_trade
from apps.markets.throttles import MarketTradesThrottle
from stockrace.asgi import application
from tests.markets.conftest import make_market
from tests.support.asgi import asgi_call, count_lean_answers
from tests.support.factories import UserFactory
from tests.support.ledger import assert_ledger_balanced

pytestmark = pytest.mark.django_db(transaction=True)  # the lean route works on Django's worker threads


@pytest.fixture(autouse=True)
def lean_answers(monkeypatch):
    PlayerTokenAuthentication.verified.clear()
    return count_lean_answers(monkeypatch, fastpath.MarketTradeRoute)


def _bearer(user) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {AccessToken.for_user(user)}".encode()), (b"content-type", b"application/json")]


def _lean(market_id, body: bytes, headers, *, path: str | None = None):
    status, answer_headers, content = asgi_call(application, "POST", path or f"/api/v1/markets/{market_id}/trades/",
                                                body=body, headers=headers, client=("10.1.2.3", 5000))
    return status, answer_headers, json.loads(content)


def _drf(client, market_id, body: bytes, user, *, key=None):
    extra = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    response = client.post(f"/api/v1/markets/{market_id}/trades/", body, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}", REMOTE_ADDR="10.1.2.3", **extra)
    return response.status_code, {k.lower(): v for k, v in response.items()}, response.json()


def _both(client, body, *, market=make_market, balance=1000, key=None, prepare=None):
    """(lean answer, DRF answer) for the same trade by two equal new players on two equal new markets."""
    answers = []
    for route in ("lean", "drf"):
        player = UserFactory(balance=balance)
        market_id = market().pk if callable(market) else market
        if prepare:
            prepare(player, market_id)
        raw = json.dumps(body).encode()
        if route == "lean":
            extra = [(b"idempotency-key", key.encode())] if key else []
            answers.append(_lean(market_id, raw, [*_bearer(player), *extra]))
        else:
            answers.append(_drf(client, market_id, raw, player, key=key))
    return answers


def _same(lean, drf):
    assert lean[0] == drf[0], (lean, drf)
    if "error" in drf[2]:
        assert lean[2] == drf[2]
        assert lean[1].get("retry-after") == drf[1].get("retry-after")
    else:
        strip = lambda t: {k: v for k, v in t.items() if k not in ("id", "market", "created_at")}  # noqa: E731
        assert strip(lean[2]) == strip(drf[2])


def _bought(shares_of: int):
    def prepare(player, market_id):
        market_trade(user_id=player.pk, market_id=market_id, order=Order(outcome=0, side="buy", amount=shares_of))
    return prepare


def _lmsr():
    return make_market(mechanism="lmsr", outcomes=["AAA", "BBB", "CCC"])


def _sigmoid():
    return make_market(mechanism="sigmoid")


def _with_fee():
    return make_market(fee_pct="1.67")


ACCEPTED = [
    ({"outcome": 0, "side": "buy", "amount": 10}, make_market, None),
    ({"outcome": 1, "side": "buy", "shares": "7.5"}, make_market, None),
    ({"outcome": 0, "side": "sell", "shares": "5"}, make_market, _bought(20)),
    ({"outcome": 2, "side": "buy", "amount": 30}, _lmsr, None),
    ({"outcome": 0, "side": "buy", "shares": "12"}, _sigmoid, None),
    ({"outcome": 0, "side": "buy", "amount": 40}, _with_fee, None),
]


@pytest.mark.parametrize("body, market, prepare", ACCEPTED,
                         ids=["cpmm-amount", "cpmm-shares", "cpmm-sell", "lmsr", "sigmoid", "fee"])
def test_accepted_trades_are_the_same(client, lean_answers, body, market, prepare):
    lean, drf = _both(client, body, market=market, prepare=prepare)
    assert lean[0] == 201, lean
    _same(lean, drf)
    assert len(lean_answers) == 1  # the first went the lean way, the test client's did not
    assert lean[1]["x-content-type-options"] == "nosniff" and "x-frame-options" in lean[1]
    assert MarketTrade.objects.filter(kind=body["side"]).count() == 2  # (only the sell case buys first)
    assert_ledger_balanced()


REFUSED = [
    ({"outcome": 7, "side": "buy", "amount": 10}, make_market, 1000, 400, "unknown_outcome"),
    ({"outcome": 0, "side": "buy", "amount": 0}, make_market, 1000, 400, "invalid"),
    ({"outcome": 0, "side": "buy", "amount": -3}, make_market, 1000, 400, "invalid"),
    ({"outcome": 0, "side": "buy", "shares": "-1"}, make_market, 1000, 400, "invalid"),
    ({"outcome": 0, "side": "hold", "amount": 3}, make_market, 1000, 400, "invalid"),
    ({"outcome": 0, "side": "buy", "amount": "ten"}, make_market, 1000, 400, "invalid"),
    ({"outcome": 0, "side": "buy", "amount": 3, "shares": "2"}, make_market, 1000, 400, "invalid"),
    (["not", "an", "object"], make_market, 1000, 400, "invalid"),
    ({"outcome": 0, "side": "sell", "shares": "3"}, make_market, 1000, 409, "insufficient_shares"),
    ({"outcome": 0, "side": "buy", "amount": 500}, make_market, 40, 409, "insufficient_points"),
    ({"outcome": 0, "side": "buy", "amount": 1}, _with_fee, 1000, 400, "too_small"),
    ({"outcome": 0, "side": "buy", "amount": 2_000}, make_market, 10**6, 409, "price_limit"),  # past 99 %
    ({"outcome": 0, "side": "buy", "amount": 100_000}, make_market, 10**6, 409, "market_dry"),  # YES pool < 1
    ({"outcome": 0, "side": "buy", "shares": "5000"}, _sigmoid, 10**6, 409, "market_dry"),  # past the supply cap
]


@pytest.mark.parametrize("body, market, balance, status, code", REFUSED)
def test_refusals_are_the_same_with_nothing_written(client, lean_answers, body, market, balance, status, code):
    lean, drf = _both(client, body, market=market, balance=balance)
    assert lean[0] == drf[0] == status, (lean, drf)
    _same(lean, drf)
    assert lean[2]["error"]["code"] == (code or drf[2]["error"]["code"])
    assert set(lean[2]["error"]) == {"code", "message", "fields"}
    assert len(lean_answers) == 1 and MarketTrade.objects.count() == 0
    assert_ledger_balanced()


def test_closed_and_unknown_markets_are_refused_the_same(client, lean_answers):
    def closed():
        market = make_market()
        Market.objects.filter(pk=market.pk).update(closes_at=redis_now() - timedelta(seconds=1))
        return market

    body = {"outcome": 0, "side": "buy", "amount": 5}
    lean, drf = _both(client, body, market=closed)
    assert lean[0] == 409 and lean[2]["error"]["code"] == "market_closed"
    _same(lean, drf)
    lean, drf = _both(client, body, market=987654)
    assert lean[0] == 404 and lean[2]["error"]["code"] == "not_found"
    _same(lean, drf)
    assert len(lean_answers) == 2 and MarketTrade.objects.count() == 0


def test_an_idempotency_key_replays_the_first_trade_on_both_routes(client, lean_answers):
    market = make_market()
    player = UserFactory(balance=1000)
    raw = json.dumps({"outcome": 0, "side": "buy", "amount": 10}).encode()
    headers = [*_bearer(player), (b"idempotency-key", b"same-key")]
    first = _lean(market.pk, raw, headers)
    again = _lean(market.pk, raw, headers)
    through_drf = _drf(client, market.pk, raw, player, key="same-key")
    assert (first[0], again[0], through_drf[0]) == (201, 200, 200)
    assert again[2]["id"] == first[2]["id"] == through_drf[2]["id"] and again[2]["replayed"] is True
    reused = _lean(market.pk, json.dumps({"outcome": 0, "side": "buy", "amount": 11}).encode(), headers)
    assert reused[0] == 422 and reused[2]["error"]["code"] == "idempotency_key_reused"
    assert MarketTrade.objects.filter(user=player).count() == 1
    assert_ledger_balanced(player, balance=990)
    assert len(lean_answers) == 3


def test_a_reused_key_and_a_long_key_are_refused_the_same(client):
    body = {"outcome": 0, "side": "buy", "amount": 10}

    def used(player, market_id):
        market_trade(user_id=player.pk, market_id=market_id, order=Order(outcome=0, side="buy", amount=3),
                     idempotency_key="k-1")

    lean, drf = _both(client, body, key="k-1", prepare=used)
    assert lean[0] == 422
    _same(lean, drf)
    lean, drf = _both(client, body, key="x" * 300)
    assert lean[0] == 400
    _same(lean, drf)


def test_the_view_s_throttles_give_the_same_429_and_count_both_routes(client, monkeypatch, lean_answers):
    """The tests turn DRF's default throttles off; the view's own throttle classes, whatever they
    are, apply to both routes, in one history per player."""
    monkeypatch.setattr(MarketTradesView, "throttle_classes", [UserRateThrottle])
    monkeypatch.setattr(UserRateThrottle, "rate", "2/hour", raising=False)
    body = {"outcome": 0, "side": "buy", "amount": 5}
    answers = {}
    for route in ("lean", "drf"):
        player = UserFactory(balance=1000)
        market = make_market()
        raw = json.dumps(body).encode()
        send = (lambda: _lean(market.pk, raw, _bearer(player))) if route == "lean" else \
            (lambda: _drf(client, market.pk, raw, player))
        answers[route] = [send() for _ in range(3)]
    for route, (one, two, three) in answers.items():
        assert (one[0], two[0], three[0]) == (201, 201, 429), route
    _same(answers["lean"][2], answers["drf"][2])
    assert 1 <= int(answers["lean"][2][1]["retry-after"]) <= 3600
    # One history: a player's trades through either route count against the same limit.
    player, market = UserFactory(balance=1000), make_market()
    raw = json.dumps(body).encode()
    assert _lean(market.pk, raw, _bearer(player))[0] == 201
    assert _drf(client, market.pk, raw, player)[0] == 201
    assert _lean(market.pk, raw, _bearer(player))[0] == 429
    assert MarketTrade.objects.count() == 6


def test_the_default_throttles_counted_in_redis_give_the_same_429_and_count_both_routes(
        client, settings, monkeypatch, redis_client, lean_answers):
    """Where the API's default throttles are on (everywhere but the test settings), the view's own
    throttle (apps.markets.throttles) applies their limits with the history in Redis: the same
    429 on both routes, one history per player, nothing written for a refused trade."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle", "rest_framework.throttling.UserRateThrottle"]}
    monkeypatch.setattr(UserRateThrottle, "rate", "2/hour", raising=False)
    monkeypatch.setattr(AnonRateThrottle, "rate", "1/hour", raising=False)
    assert MarketTradesView.throttle_classes == [MarketTradesThrottle]
    body = json.dumps({"outcome": 0, "side": "buy", "amount": 5}).encode()
    answers = {}
    for route in ("lean", "drf"):
        player, market = UserFactory(balance=1000), make_market()
        send = (lambda: _lean(market.pk, body, _bearer(player))) if route == "lean" else \
            (lambda: _drf(client, market.pk, body, player))
        answers[route] = [send() for _ in range(3)]
        assert redis_client.zcard(f"throttle:markets:throttle_user_{player.pk}") == 2  # in Redis, refusal uncounted
    for route, (one, two, three) in answers.items():
        assert (one[0], two[0], three[0]) == (201, 201, 429), route
        assert three[2]["error"]["code"] == "throttled"
    _same(answers["lean"][2], answers["drf"][2])
    assert 3590 <= int(answers["lean"][2][1]["retry-after"]) <= 3600
    player, market = UserFactory(balance=1000), make_market()
    assert _lean(market.pk, body, _bearer(player))[0] == 201
    assert _drf(client, market.pk, body, player)[0] == 201
    assert _lean(market.pk, body, _bearer(player))[0] == 429
    assert MarketTrade.objects.count() == 6
    # The tape's GET for the anonymous: the anonymous limit, by address.
    tape = [client.get(f"/api/v1/markets/{market.pk}/trades/", REMOTE_ADDR="10.9.9.9") for _ in range(2)]
    assert [r.status_code for r in tape] == [200, 429]


def test_what_the_lean_route_does_not_answer_reaches_django(lean_answers):
    market = make_market()
    player = UserFactory(balance=1000)
    raw = json.dumps({"outcome": 0, "side": "buy", "amount": 5}).encode()
    token = [(b"authorization", f"Bearer {AccessToken.for_user(player)}".encode())]
    bad_token = _lean(market.pk, raw, [(b"authorization", b"Bearer nonsense"), (b"content-type", b"application/json")])
    assert bad_token[0] == 401 and bad_token[2]["error"]["code"] == "token_not_valid"
    no_token = _lean(market.pk, raw, [(b"content-type", b"application/json")])
    assert no_token[0] == 401
    form = _lean(market.pk, b"outcome=0&side=buy&amount=5", [*token, (b"content-type", b"application/x-www-form-urlencoded")])
    assert form[0] == 400 and form[2]["error"]["code"] == "unknown_outcome"  # DRF's form parser: "0" is text
    not_json = _lean(market.pk, b"{not json", [*token, (b"content-type", b"application/json")])
    assert not_json[0] == 400 and not_json[2]["error"]["code"] == "parse_error"
    quote = _lean(market.pk, raw, [*token, (b"content-type", b"application/json")],
                  path=f"/api/v1/markets/{market.pk}/quote/")
    assert quote[0] == 200 and Decimal(quote[2]["shares"]) > 0  # another route of the same app
    leading_zero = _lean(None, raw, [*token, (b"content-type", b"application/json")],
                         path=f"/api/v1/markets/0{market.pk}/trades/")
    assert leading_zero[0] == 201  # Django's <int:> path takes it; the lean pattern does not
    assert lean_answers == []  # Django answered each of them
    assert MarketTrade.objects.filter(user=player).count() == 1  # the leading-zero path's


def test_a_session_cookie_goes_to_django(lean_answers):
    market = make_market()
    player = UserFactory(balance=1000)
    status, _, body = _lean(market.pk, json.dumps({"outcome": 0, "side": "buy", "amount": 5}).encode(),
                            [*_bearer(player), (b"cookie", b"sessionid=whatever")])
    assert status == 201 and body["market"] == market.pk
    assert lean_answers == []


def test_market_fast_path_off_sends_every_trade_through_drf(settings, lean_answers):
    settings.MARKET_FAST_PATH = False
    market = make_market()
    player = UserFactory(balance=1000)
    status, _, body = _lean(market.pk, json.dumps({"outcome": 0, "side": "buy", "amount": 5}).encode(),
                            _bearer(player))
    assert status == 201 and body["cost"] == 5
    assert lean_answers == []
    settings.MARKET_FAST_PATH = True
    status, _, _ = _lean(market.pk, json.dumps({"outcome": 0, "side": "buy", "amount": 5}).encode(), _bearer(player))
    assert status == 201 and len(lean_answers) == 1
