"""Sign-up limits per address and per network on the page and the API alike; login lockout on
every login route; sign-ups from a banned device or address refused."""
from __future__ import annotations

import pytest
from django.test import Client

from apps.botdetect.models import Blocklist, Decision
from tests.botdetect.conftest import rates
from tests.support.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def api_signup(client, name, addr, **extra):
    return client.post("/api/v1/auth/register/", {"username": name, "password": "tr1cky-Passphrase"},
                       format="json", REMOTE_ADDR=addr, **extra)


def page_signup(name, addr, **extra):
    return Client(enforce_csrf_checks=False).post("/signup/", {"username": name, "password": "tr1cky-Passphrase"},
                                                  REMOTE_ADDR=addr, **extra)


def test_the_21st_signup_from_one_address_is_refused_by_page_and_api(api_client, settings):
    rates(settings, register="20/hour", register_network="1000/hour")
    for i in range(10):
        assert api_signup(api_client, f"api{i}", "198.51.100.5").status_code == 201
    for i in range(10):
        assert page_signup(f"page{i}", "198.51.100.5").status_code == 302
    refused_api = api_signup(api_client, "api-21", "198.51.100.5")
    assert refused_api.status_code == 429
    assert refused_api.json()["error"]["code"] == "throttled" and int(refused_api["Retry-After"]) > 0
    refused_page = page_signup("page-21", "198.51.100.5")
    assert refused_page.status_code == 429 and "Too many sign-ups" in refused_page.content.decode()
    # Another address is not held back.
    assert api_signup(api_client, "elsewhere", "198.51.100.200").status_code == 201


def test_the_network_limit_counts_a_whole_slash_24_and_slash_64(api_client, settings):
    rates(settings, register="100/hour", register_network="3/hour")
    assert [api_signup(api_client, f"n{i}", f"203.0.113.{i + 1}").status_code for i in range(4)] == [201, 201, 201, 429]
    assert api_signup(api_client, "other-net", "203.0.114.1").status_code == 201
    assert [api_signup(api_client, f"v6-{i}", f"2001:db8:0:1::{i + 1}").status_code for i in range(4)] == \
        [201, 201, 201, 429]


def _wrong(route, client, username):
    if route == "api":
        return client.post("/api/v1/auth/token/", {"username": username, "password": "wrong"}, format="json",
                           REMOTE_ADDR="198.51.100.9")
    path = "/login/" if route == "page" else "/admin/login/"
    return Client().post(path, {"username": username, "password": "wrong"}, REMOTE_ADDR="198.51.100.9")


@pytest.mark.parametrize("route", ["page", "admin", "api"])
def test_failed_logins_lock_every_login_route(api_client, settings, route):
    settings.AXES_FAILURE_LIMIT = 3
    user = UserFactory(username=f"victim-{route}", is_staff=True)
    for _ in range(2):
        assert _wrong(route, api_client, user.username).status_code in (200, 401)
    locked = _wrong(route, api_client, user.username)
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    # Locked on all three routes, even with the right password, from that address.
    right = {"username": user.username, "password": PASSWORD}
    api = api_client.post("/api/v1/auth/token/", right, format="json", REMOTE_ADDR="198.51.100.9")
    assert api.status_code == 429 and api.json()["error"]["code"] == "locked_out"
    assert "Try again in" in api.json()["error"]["message"]
    page = Client().post("/login/", right, REMOTE_ADDR="198.51.100.9")
    assert page.status_code == 429 and "Try again in" in page.content.decode()
    assert Client().post("/admin/login/", right, REMOTE_ADDR="198.51.100.9").status_code == 429
    # Another address is not locked out.
    assert api_client.post("/api/v1/auth/token/", right, format="json", REMOTE_ADDR="198.51.100.10").status_code == 200


@pytest.mark.parametrize("route", ["page", "api"])
def test_a_successful_login_clears_the_failures_on_every_route(api_client, settings, route):
    """Two failures, a success, two more failures: not locked out (limit 3), whichever route the
    success took; without the reset the fourth failure would lock the pair."""
    from axes.models import AccessAttempt

    settings.AXES_FAILURE_LIMIT = 3
    user = UserFactory(username=f"forgetful-{route}")
    right = {"username": user.username, "password": PASSWORD}
    for _ in range(2):
        assert _wrong("api", api_client, user.username).status_code == 401
    assert AccessAttempt.objects.get(username=user.username).failures_since_start == 2
    if route == "api":
        ok = api_client.post("/api/v1/auth/token/", right, format="json", REMOTE_ADDR="198.51.100.9")
        assert ok.status_code == 200 and ok.json()["access"]
    else:
        assert Client().post("/login/", right, REMOTE_ADDR="198.51.100.9").status_code == 302
    assert not AccessAttempt.objects.filter(username=user.username).exists()
    for _ in range(2):
        assert _wrong("api", api_client, user.username).status_code == 401
    assert api_client.post("/api/v1/auth/token/", right, format="json", REMOTE_ADDR="198.51.100.9").status_code == 200


def test_a_banned_accounts_device_and_address_cannot_sign_up_again(api_client):
    user = UserFactory()
    decision = Decision.objects.create(user=user, action="ban", reason="farm", score=90)
    Blocklist.objects.create(kind="device", value="dev-banned-1", decision=decision)
    Blocklist.objects.create(kind="address", value="192.0.2.66", decision=decision)
    by_device = api_signup(api_client, "again1", "198.51.100.30", HTTP_X_DEVICE="dev-banned-1")
    assert by_device.status_code == 403 and by_device.json()["error"]["code"] == "signup_blocked"
    assert api_signup(api_client, "again2", "192.0.2.66").status_code == 403
    assert page_signup("again3", "192.0.2.66").status_code == 403
    assert api_signup(api_client, "fine", "198.51.100.31", HTTP_X_DEVICE="dev-other-1").status_code == 201
