"""Every hostile request the issue lists answers 4xx in the error shape, never 500: NUL bytes in
query parameters and path segments, 3,000-deep JSON on register and on the bet route (DRF and
the lean route), a non-ASCII digit as an id, and bodies past the cap."""
from __future__ import annotations

import asyncio
import json

import pytest
from rest_framework.test import APIClient

from apps.core.inputs import MAX_JSON_DEPTH, InvalidJSON, bad_text, loads_json, whole_number

DEEP = b"[" * 3000 + b"]" * 3000
DEEP_OBJECT = b'{"kind":' * 3000 + b"1" + b"}" * 3000


def assert_error_shape(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}, body
    return body["error"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", [
    "/api/v1/stocks/?search=a%00b", "/api/v1/stocks/?sector=%00", "/api/v1/stocks/?search=ok&%00=x",
    "/api/v1/stocks/A%00B/", "/api/v1/stocks/A%00B/candles/", "/api/v1/players/bob%00/badges/",
    "/api/v1/races/?theme=%00",
])
def test_nul_in_api_parameters_is_a_400_in_the_error_shape(client, url):
    error = assert_error_shape(client.get(url), 400)
    assert error["code"] == "invalid" and "NUL" in error["message"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/stocks/?search=%00", "/stocks/?sector=%00", "/?theme=%00", "/stocks/A%00/",
                                 "/u/bob%00/", "/lobby/races/?theme=a%00"])
def test_nul_in_page_parameters_is_a_400(client, url):
    response = client.get(url)
    assert response.status_code == 400 and b"NUL" in response.content


@pytest.mark.django_db
def test_a_non_ascii_digit_as_a_race_id_is_a_400(player_client):
    error = assert_error_shape(player_client.get("/api/v1/me/bets/?race=%C2%B2"), 400)
    assert error["fields"] == {"race": ["A race id is a whole number."]}
    assert player_client.get("/api/v1/me/bets/?race=7").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
def test_deep_json_on_register_is_a_400(body):
    error = assert_error_shape(APIClient().generic("POST", "/api/v1/auth/register/", body,
                                                   content_type="application/json"), 400)
    assert error["code"] == "parse_error"


@pytest.mark.django_db
def test_nul_in_a_json_string_is_a_400_not_a_database_error():
    body = json.dumps({"username": "a\u0000b", "password": "correct-horse-battery"})
    assert_error_shape(APIClient().generic("POST", "/api/v1/auth/register/", body,
                                           content_type="application/json"), 400)


@pytest.mark.django_db
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT, b'{"kind":"winner","symbol":"A\\u0000","stake":5}'])
def test_deep_or_nul_json_on_the_bet_route_is_a_400_on_both_routes(body, player):
    """The lean route hands a body its parser refuses to DRF, which refuses it with the same parser."""
    from rest_framework_simplejwt.tokens import AccessToken

    from stockrace.asgi import application

    token = str(AccessToken.for_user(player))
    status, payload = asyncio.run(_asgi_post(application, "/api/v1/races/1/bets/", body, token))
    assert status == 400, payload
    assert json.loads(payload)["error"]["code"] == "parse_error", payload
    client = APIClient()
    client.force_authenticate(player)
    assert_error_shape(client.generic("POST", "/api/v1/races/1/bets/", body, content_type="application/json"), 400)


async def _asgi_post(app, path: str, body: bytes, token: str, extra_headers=()) -> tuple[int, bytes]:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"),
                         (b"authorization", f"Bearer {token}".encode()),
                         (b"content-length", str(len(body)).encode()), *extra_headers],
             "client": ("127.0.0.1", 5000), "server": ("testserver", 80)}
    sent = [{"type": "http.request", "body": body, "more_body": False}]
    out = []

    async def receive():
        return sent.pop(0) if sent else {"type": "http.disconnect"}

    async def send(message):
        out.append(message)

    await app(scope, receive, send)
    start = next(m for m in out if m["type"] == "http.response.start")
    return start["status"], b"".join(m.get("body", b"") for m in out if m["type"] == "http.response.body")


def test_the_bounded_parser_refuses_what_postgres_cannot_store_or_python_cannot_nest():
    nested = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert loads_json(nested) is not None
    for bad in ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), DEEP, '"a\\u0000"', '{"a\\u0000": 1}',
                '"\\ud800"', "NaN", "[1e999]", "{"):
        with pytest.raises(InvalidJSON):
            loads_json(bad)
    assert bad_text("plain text, tabs\tand\nnewlines") is None
    assert whole_number("²") is None and whole_number("١") is None and whole_number("12") == 12


class TestBodyCap:
    async def _post(self, declared: int | None, chunks: list[bytes]):
        from stockrace.body_limit import BodyLimit

        reached = []

        async def app(scope, receive, send):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                reached.append(len(message.get("body", b"")))
                if not message.get("more_body"):
                    break
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})

        headers = [(b"content-length", str(declared).encode())] if declared is not None else []
        messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
        out = []

        async def receive():
            return messages.pop(0)

        async def send(message):
            out.append(message)

        await BodyLimit(app, 1000)({"type": "http", "headers": headers}, receive, send)
        return out[0]["status"], reached, json.loads(out[1]["body"]) if out[0]["status"] == 413 else None

    def test_a_declared_length_over_the_cap_is_refused_before_any_byte_is_read(self):
        status, reached, body = asyncio.run(self._post(10**9, [b"x" * 10]))
        assert status == 413 and reached == [] and body["error"]["code"] == "too_large"

    def test_a_chunked_body_is_cut_off_at_the_cap(self):
        status, reached, _ = asyncio.run(self._post(None, [b"x" * 600, b"x" * 600, b"x" * 600]))
        assert status == 413 and sum(reached) <= 1000

    def test_a_body_under_the_cap_goes_through(self):
        assert asyncio.run(self._post(900, [b"x" * 900]))[0] == 200


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/orders/", "/api/v1/orders/preview/"])
@pytest.mark.parametrize("order_type", [{}, [], 1])
def test_an_order_type_that_is_not_text_is_a_400(player, path, order_type):
    client = APIClient()
    client.force_authenticate(player)
    error = assert_error_shape(client.post(path, {"symbol": "AAPL", "side": "buy", "type": order_type,
                                                  "quantity": "2"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"), 400)
    assert "type" in error["fields"], error


@pytest.mark.django_db
def test_a_multipart_body_twisted_cannot_parse_reaches_django_on_daphne():
    """Twisted used to answer a bare 400 (no body, no Content-Type) before the app saw the request."""
    import http.client

    from tests.support import processes

    boundary = "c637e12e2b1a998d80d1b087531af51c"
    with processes.daphne() as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.request("POST", "/api/v1/auth/token/refresh/", body=f"--{boundary}--\r\n".encode(),
                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        response = conn.getresponse()
        body = json.loads(response.read())
        conn.close()
    assert response.status == 400 and response.getheader("Content-Type") == "application/json"
    assert body["error"]["fields"] == {"refresh": ["This field is required."]}, body


@pytest.mark.django_db
def test_the_lean_bet_route_answers_in_the_error_shape_when_redis_is_unreachable(player, monkeypatch):
    """The token's revocation check reads Redis: a Redis outage used to escape as daphne's bare 500 page;
    it is answered 503 ``unavailable`` in the error shape (tests/hardening/test_resilience_http.py
    stops a real Redis under a real server)."""
    import redis
    from rest_framework_simplejwt.tokens import AccessToken

    from apps.bets.auth import PlayerTokenAuthentication
    from stockrace.asgi import application

    def unreachable(payload):
        raise redis.exceptions.ConnectionError("Error 2 connecting to redis.sock. No such file or directory.")

    PlayerTokenAuthentication.verified.clear()
    monkeypatch.setattr("apps.bets.auth.token_revoked", unreachable)
    status, payload = asyncio.run(_asgi_post(application, "/api/v1/races/1/bets/",
                                             b'{"kind":"winner","symbol":"AAPL","stake":5}',
                                             str(AccessToken.for_user(player))))
    assert status == 503
    assert json.loads(payload)["error"]["code"] == "unavailable"
