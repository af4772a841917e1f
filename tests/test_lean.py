"""apps.core.lean, the one lean-route mechanism: what a route gets, what goes to Django instead,
and how failures are answered. A probe route on a path Django does not know shows which of the
two answered (Django: 404 ``not_found``)."""
from __future__ import annotations

import json
import logging
import re

import pytest
from rest_framework import exceptions
from rest_framework_simplejwt.tokens import AccessToken

from apps.bets.auth import PlayerTokenAuthentication
from apps.core.lean import LeanRoute, LeanRoutes
from stockrace.handlers import get_asgi_application
from tests.support.asgi import asgi_call
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)  # routes run on the handler's worker threads

PATH = "/api/v1/lean-probe/42/"


class ProbeRoute(LeanRoute):
    name = "probe route"
    path = re.compile(r"/api/v1/lean-probe/([0-9]+)/")
    switch = "LEAN_PROBE"
    max_body = 64
    fail: BaseException | None = None

    def handle(self, request):
        if self.fail is not None:
            raise self.fail
        return 202, {"args": list(request.args), "user": str(request.user.pk), "data": request.data,
                     "key": request.idempotency_key, "address": request.address}


@pytest.fixture
def probe(settings):
    settings.LEAN_PROBE = True
    PlayerTokenAuthentication.verified.clear()
    route = ProbeRoute()
    app = LeanRoutes(get_asgi_application(), routes=[route], authenticator=PlayerTokenAuthentication())
    player = UserFactory()
    headers = [(b"authorization", f"Bearer {AccessToken.for_user(player)}".encode()),
               (b"content-type", b"application/json")]

    def send(body=b'{"a": 1}', *, extra=(), replace=None, method="POST", path=PATH, query_string=b""):
        status, answer_headers, content = asgi_call(app, method, path, body=body,
                                                    headers=[*(replace if replace is not None else headers), *extra],
                                                    client=("10.1.2.3", 5000), query_string=query_string)
        try:
            return status, answer_headers, json.loads(content)
        except ValueError:
            return status, answer_headers, content

    send.route, send.player = route, player
    return send


def test_a_bearer_json_post_reaches_the_route_with_what_it_needs(probe, settings):
    status, headers, body = probe(extra=[(b"idempotency-key", b"k-9"), (b"x-forwarded-for", b"6.6.6.6")])
    assert status == 202, body
    # A forged X-Forwarded-For changes nothing: the peer is not a trusted proxy.
    assert body == {"args": ["42"], "user": str(probe.player.pk), "data": {"a": 1}, "key": "k-9", "address": "10.1.2.3"}
    assert headers["content-type"] == "application/json" and headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == settings.X_FRAME_OPTIONS


JSON = (b"content-type", b"application/json")
UNUSUAL = {
    "switch off": {},
    "another method": {"method": "PUT"},
    "a query string": {"query_string": b"x=1"},
    "a repeated header": {"extra": [JSON]},
    "a body over max_body": {"body": json.dumps({"a": "x" * 100}).encode()},
    "a cookie": {"extra": [(b"cookie", b"sessionid=abc")]},
    "no bearer token": {"replace": [JSON]},
    "not application/json": {"replace": [(b"authorization", b"Bearer x"), (b"content-type", b"text/plain")]},
    "a token that does not verify": {"replace": [(b"authorization", b"Bearer nonsense"), JSON]},
    "a body that is not JSON": {"body": b"{nope"},
    "a host not allowed": {},
    "a longer path": {"path": PATH + "more/"},
}


@pytest.mark.parametrize("case", list(UNUSUAL))
def test_anything_unusual_goes_to_django(probe, settings, case):
    if case == "switch off":
        settings.LEAN_PROBE = False
    if case == "a host not allowed":
        settings.ALLOWED_HOSTS = ["example.org"]
    status, _, body = probe(**UNUSUAL[case])
    # Django's answers: it knows no such path (404), or it refuses the host (400); never the probe's 202.
    assert status == (400 if case == "a host not allowed" else 404), (status, body)


def test_a_refusal_is_answered_as_the_api_answers_it(probe):
    probe.route.fail = exceptions.Throttled(wait=12)
    status, headers, body = probe()
    assert status == 429 and headers["retry-after"] == "12"
    assert body["error"]["code"] == "throttled" and set(body["error"]) == {"code", "message", "fields"}


def test_a_bug_is_logged_and_answered_500_in_the_error_shape(probe, caplog):
    probe.route.fail = RuntimeError("boom")
    with caplog.at_level(logging.ERROR, logger="apps.core.lean"):
        status, _, body = probe()
    assert status == 500 and body == {"error": {"code": "server_error", "message": body["error"]["message"],
                                                "fields": {}}}
    assert any("probe route" in r.getMessage() and r.exc_info for r in caplog.records)


def test_drf_throttles_runs_the_view_s_own_throttle_classes_and_its_throttled(probe):
    """Pins the DRF internals the lean routes rely on (APIView.check_throttles, get_throttles,
    throttled, a throttle's allow_request(request, view) and wait()), by behaviour."""
    from rest_framework.throttling import BaseThrottle
    from rest_framework.views import APIView

    from apps.core.lean import LeanRequest, drf_throttles

    seen = []

    class Full(BaseThrottle):
        def allow_request(self, request, view):
            seen.append((request.user.pk, request.META["REMOTE_ADDR"], view.kwargs))
            return False

        def wait(self):
            return 7.0

    class Open(BaseThrottle):
        def allow_request(self, request, view):
            return True

    class Refused(exceptions.APIException):
        status_code = 429

    class FullView(APIView):
        throttle_classes = [Open, Full]

    class OwnRefusalView(FullView):
        def throttled(self, request, wait):
            raise Refused(f"wait {wait}")

    class OpenView(APIView):
        throttle_classes = [Open]

    request = LeanRequest({"path": PATH, "client": ("10.9.9.9", 1)}, {}, ("42",), probe.player, {})
    drf_throttles(OpenView, request, thing=42)
    with pytest.raises(exceptions.Throttled) as throttled:
        drf_throttles(FullView, request, thing=42)
    assert throttled.value.wait == 7
    with pytest.raises(Refused, match="wait 7.0"):
        drf_throttles(OwnRefusalView, request, thing=42)
    assert seen == [(probe.player.pk, "10.9.9.9", {"thing": 42})] * 2



def test_an_outage_is_answered_503_with_retry_after_as_the_api_answers_it(probe):
    import redis

    probe.route.fail = redis.ConnectionError("Error 111 connecting to redis.sock. Connection refused.")
    status, headers, body = probe()
    assert status == 503 and int(headers["retry-after"]) > 0
    assert body["error"]["code"] == "unavailable" and set(body["error"]) == {"code", "message", "fields"}
