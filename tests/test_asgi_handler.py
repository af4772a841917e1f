"""The ASGI handler (stockrace/handlers.py): each HTTP request is served in one call on a pooled
worker thread, through the real ASGI interface the servers use."""
from __future__ import annotations

import asyncio
import json
import threading

import pytest
from django.core import signals

from stockrace.asgi import django_asgi_app
from tests.support.asgi import asgi_request

pytestmark = pytest.mark.django_db(transaction=True)  # requests run on other threads


async def _request(method: str, path: str, body: bytes = b"", headers=()) -> tuple[int, dict, bytes]:
    return await asgi_request(django_asgi_app, method, path, body=body, headers=headers, timeout=10)


def test_a_request_runs_middleware_and_view_and_answers():
    status, headers, content = asyncio.run(_request("GET", "/api/v1/races/"))
    assert status == 200
    assert headers["content-type"].startswith("application/json")
    assert "x-frame-options" in headers  # the middleware chain ran (clickjacking middleware)
    assert "results" in json.loads(content) or isinstance(json.loads(content), list)


def test_a_bad_body_gets_a_400_in_the_error_shape():
    status, _, content = asyncio.run(_request(
        "POST", "/api/v1/auth/register/", b'{"username": "", "password": "x"}',
        [(b"content-type", b"application/json")]))
    assert status == 400
    assert "error" in json.loads(content)


def test_a_streaming_response_is_sent_whole():
    status, headers, content = asyncio.run(_request("GET", "/static/js/app.js"))
    assert status == 200
    assert len(content) == int(headers["content-length"]) > 0


def test_the_whole_request_runs_on_one_worker_thread():
    """request_started, the view and request_finished (which returns the thread's database
    connection) all run on the same pooled thread, never on the event loop's."""
    seen: list[tuple[str, str]] = []

    def started(**_):
        seen.append(("started", threading.current_thread().name))

    def finished(**_):
        seen.append(("finished", threading.current_thread().name))

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        status, _, _ = asyncio.run(_request("GET", "/api/v1/races/"))
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
    assert status == 200
    assert [event for event, _ in seen] == ["started", "finished"]
    assert seen[0][1] == seen[1][1] and seen[0][1].startswith("http")


def test_concurrent_requests_are_all_served():
    async def many():
        return await asyncio.gather(*(_request("GET", "/api/v1/races/") for _ in range(30)))

    assert [status for status, _, _ in asyncio.run(many())] == [200] * 30
