"""Redis or the database out of reach: answered 503 ``unavailable`` with Retry-After, in the error
shape (the API, the lean bet and order routes) or as a page — not 500 — by a real daphne whose
private redis-server the test stops and starts again, or whose database is not there at all.
What is not an outage (a statement timeout) stays a 500."""
from __future__ import annotations

import http.client
import json

import pytest

from apps.core import unavailable
from tests.support import processes
from tests.support.env import child_env, free_port
from tests.support.http import token_for

pytestmark = pytest.mark.slow


def _get(port: int, method: str, path: str, body: dict | None = None, token: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=json.dumps(body).encode() if body is not None else None, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def _assert_unavailable_json(answer) -> None:
    status, headers, body = answer
    assert status == 503, (status, body[:500])
    assert headers.get("Retry-After") == str(unavailable.RETRY_AFTER_SECONDS)
    assert headers.get("Content-Type", "").startswith("application/json")
    error = json.loads(body)["error"]
    assert error["code"] == "unavailable" and error["message"] and error["fields"] == {}


def _assert_unavailable_page(answer) -> None:
    status, headers, body = answer
    assert status == 503, (status, body[:500])
    assert headers.get("Retry-After") == str(unavailable.RETRY_AFTER_SECONDS)
    assert headers.get("Content-Type", "").startswith("text/html")
    assert b"Back in a moment" in body


@pytest.mark.django_db(transaction=True)
def test_while_redis_is_away_the_api_the_lean_routes_and_pages_answer_503_and_recover(django_user_model):
    from apps.accounts.services import user_register

    user_register(username="resilient", password="correct-horse-battery")
    with processes.RedisServer() as server, processes.daphne(REDIS_URL=server.url) as web:
        token = token_for(web.port, "resilient", "correct-horse-battery")  # never verified by the server yet
        assert _get(web.port, "GET", "/api/v1/races/")[0] == 200
        server.stop()
        assert _get(web.port, "GET", "/api/v1/races/")[0] == 200  # PostgreSQL alone: still served
        _assert_unavailable_json(_get(web.port, "GET", "/api/v1/quotes/?symbols=AAPL"))  # quotes live in Redis
        _assert_unavailable_json(_get(web.port, "GET", "/api/v1/leaderboards/global/"))
        _assert_unavailable_json(_get(web.port, "GET", "/api/v1/me/", token=token))  # the revocation check
        # The lean routes in front of Django (apps/bets/fastpath.py, apps/trading/fastpath.py).
        _assert_unavailable_json(_get(web.port, "POST", "/api/v1/races/1/bets/",
                                      {"kind": "winner", "symbol": "AAPL", "stake": 5}, token=token))
        _assert_unavailable_json(_get(web.port, "POST", "/api/v1/orders/",
                                      {"symbol": "AAPL", "side": "buy", "type": "market", "quantity": 1}, token=token))
        _assert_unavailable_page(_get(web.port, "GET", "/"))
        server.start()
        assert _get(web.port, "GET", "/api/v1/quotes/?symbols=AAPL")[0] == 200
        assert _get(web.port, "GET", "/api/v1/me/", token=token)[0] == 200
        assert _get(web.port, "GET", "/")[0] == 200


@pytest.mark.django_db
def test_without_its_database_the_server_answers_503_not_500():
    nowhere = f"postgresql://stockrace@127.0.0.1:{free_port()}/gone"  # nothing listens there
    env = child_env(DATABASE_URL=nowhere)
    with processes.daphne(env=env) as web:
        _assert_unavailable_json(_get(web.port, "GET", "/api/v1/races/"))
        _assert_unavailable_json(_get(web.port, "GET", "/api/v1/leaderboards/global/"))
        _assert_unavailable_page(_get(web.port, "GET", "/"))


@pytest.mark.django_db
def test_what_counts_as_an_outage():
    import psycopg
    import redis
    from django.db import OperationalError, connection, transaction

    with pytest.raises(redis.ConnectionError) as lost_redis:
        redis.Redis(unix_socket_path="/nonexistent/redis.sock").ping()
    assert unavailable.is_unavailable(lost_redis.value)

    with pytest.raises(psycopg.OperationalError) as lost_database:
        psycopg.connect(f"host=127.0.0.1 port={free_port()} dbname=gone connect_timeout=5")
    assert unavailable.is_unavailable(lost_database.value)

    # A statement timeout is the database answering: a 500 (a query to fix), not an outage.
    with pytest.raises(OperationalError) as timed_out, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 1")
            cursor.execute("SELECT pg_sleep(0.5)")
    assert isinstance(timed_out.value.__cause__, psycopg.errors.QueryCanceled)
    assert not unavailable.is_unavailable(timed_out.value)
    assert not unavailable.is_unavailable(ValueError("a bug"))
