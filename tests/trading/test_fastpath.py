"""The order POST's lean route (apps.trading.fastpath, on apps.core.lean) engages for bearer-token JSON and answers
exactly as the DRF view does; anything else reaches Django."""
from __future__ import annotations

import json

import pytest
from rest_framework_simplejwt.tokens import AccessToken

from apps.trading import fastpath
from apps.trading.models import Order
from stockrace.asgi import application
from tests.support.asgi import asgi_call, count_lean_answers
from tests.support.factories import UserFactory
from tests.trading.conftest import quote

pytestmark = pytest.mark.django_db(transaction=True)  # the lean route works on Django's worker threads


@pytest.fixture(autouse=True)
def fast_answers(monkeypatch):
    return count_lean_answers(monkeypatch, fastpath.OrderRoute)


def _asgi(body: bytes, headers: list[tuple[bytes, bytes]], path: str = "/api/v1/orders/"):
    status, answer_headers, content = asgi_call(application, "POST", path, body=body, headers=headers,
                                                client=("10.1.2.3", 5000))
    return status, answer_headers, json.loads(content)


def _both(client, body, *, key=None, prepare=None):
    """(lean answer, DRF answer) for the same order from two equal new players."""
    answers = []
    for route in ("fast", "django"):
        player = UserFactory(balance=10_000)
        if prepare:
            prepare(player)
        token = str(AccessToken.for_user(player))
        raw = json.dumps(body).encode()
        extra = [(b"idempotency-key", key.encode())] if key else []
        if route == "fast":
            answers.append(_asgi(raw, [(b"authorization", f"Bearer {token}".encode()),
                                       (b"content-type", b"application/json"), *extra]))
        else:
            response = client.post("/api/v1/orders/", raw, content_type="application/json",
                                   HTTP_AUTHORIZATION=f"Bearer {token}", **({"HTTP_IDEMPOTENCY_KEY": key} if key else {}))
            answers.append((response.status_code, {k.lower(): v for k, v in response.items()}, response.json()))
    return answers


def _same(fast, slow):
    assert fast[0] == slow[0], (fast, slow)
    if "error" in slow[2]:
        assert fast[2] == slow[2]
        assert fast[1].get("retry-after") == slow[1].get("retry-after")
    else:
        strip = lambda o: {k: v for k, v in o.items() if k not in ("id", "created_at", "closed_at", "fills")}  # noqa: E731
        assert strip(fast[2]) == strip(slow[2])
        assert [(f["price"], f["cash"], f["fee"]) for f in fast[2]["fills"]] == \
            [(f["price"], f["cash"], f["fee"]) for f in slow[2]["fills"]]


CASES = [
    {"symbol": "TRDA", "side": "buy", "type": "market", "quantity": "2"},
    {"symbol": "TRDA", "side": "buy", "type": "limit", "quantity": "1", "limit_price": "90", "time_in_force": "gtc"},
    {"symbol": "TRDA", "side": "sell", "type": "market", "quantity": "1"},
    {"symbol": "NOPE", "side": "buy", "type": "market", "quantity": "1"},
    {"symbol": "TRDA", "side": "buy", "type": "market", "quantity": "0.1234567"},
    {"symbol": "TRDA", "side": "buy", "type": "market", "quantity": "100000"},
]


@pytest.mark.parametrize("body", CASES, ids=["buy", "limit", "no-position", "unknown", "decimals", "too-big"])
def test_the_lean_route_answers_like_drf(client, stocks, body, fast_answers):
    quote("TRDA", 100.0, spread=0.05)
    fast, slow = _both(client, body)
    _same(fast, slow)
    assert len(fast_answers) == 1  # it engaged, once


def test_a_locked_symbol_gets_the_same_refusal_and_retry_after(client, stocks, redis_client, fast_answers):
    from apps.core.redis import redis_now_ts
    from apps.trading.market import LockReason, lock_symbols

    quote("TRDA", 100.0, spread=0.05)
    lock_symbols(redis_client, ["TRDA"], reason=LockReason.GAP, now=redis_now_ts(), seconds=60)
    fast, slow = _both(client, CASES[0])
    assert fast[0] == 409 and fast[2]["error"]["code"] == "symbol_locked" and "retry-after" in fast[1]
    assert fast[2]["error"]["code"] == slow[2]["error"]["code"]


def test_a_replayed_key_returns_the_first_order_on_both_routes(stocks, fast_answers):
    quote("TRDA", 100.0, spread=0.05)
    player = UserFactory(balance=10_000)
    token = str(AccessToken.for_user(player))
    headers = [(b"authorization", f"Bearer {token}".encode()), (b"content-type", b"application/json"),
               (b"idempotency-key", b"same-key")]
    raw = json.dumps(CASES[0]).encode()
    first = _asgi(raw, headers)
    again = _asgi(raw, headers)
    assert (first[0], again[0]) == (201, 200) and first[2] == again[2]
    assert Order.objects.filter(user=player).count() == 1


def test_other_requests_reach_django(client, stocks, fast_answers):
    quote("TRDA", 100.0, spread=0.05)
    player = UserFactory(balance=10_000)
    token = str(AccessToken.for_user(player))
    raw = json.dumps(CASES[0]).encode()
    bad_token = _asgi(raw, [(b"authorization", b"Bearer nonsense"), (b"content-type", b"application/json")])
    assert bad_token[0] == 401
    no_json = _asgi(b"symbol=TRDA", [(b"authorization", f"Bearer {token}".encode()),
                                     (b"content-type", b"application/x-www-form-urlencoded")])
    assert no_json[0] == 400
    preview = _asgi(raw, [(b"authorization", f"Bearer {token}".encode()), (b"content-type", b"application/json")],
                    path="/api/v1/orders/preview/")
    assert preview[0] == 200 and preview[2]["executes_now"] is True
    assert fast_answers == []  # Django answered each of them
