"""The trusted client address (apps.core.net), through real servers: a forged X-Forwarded-For
from a direct client changes nothing; behind a configured proxy, the client's address is used."""
from __future__ import annotations

import pytest

from apps.botdetect.models import SignupRecord
from apps.core.net import client_address, network_of, parse_networks
from tests.support import processes
from tests.support.http import request

NETS = parse_networks(["10.0.0.0/8", "127.0.0.1/32"])


@pytest.mark.parametrize("peer,xff,expected", [
    ("203.0.113.9", None, "203.0.113.9"),
    ("203.0.113.9", "1.2.3.4", "203.0.113.9"),           # a direct client: the header is ignored
    ("127.0.0.1", "198.51.100.7", "198.51.100.7"),       # through our proxy
    ("127.0.0.1", "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # what the client wrote, left, is ignored
    ("127.0.0.1", "198.51.100.7, 10.1.2.3", "198.51.100.7"),  # a chain of trusted proxies
    ("127.0.0.1", "10.1.2.3, 10.4.5.6", "10.1.2.3"),     # all trusted: the leftmost
    ("127.0.0.1", "garbage, 10.4.5.6", "10.4.5.6"),      # unparsable: stop at the last trusted hop
    ("127.0.0.1", "[2001:db8::5]:443", "2001:db8::5"),
    ("::ffff:203.0.113.9", None, "203.0.113.9"),
])
def test_the_rule(peer, xff, expected):
    assert client_address(peer, xff, NETS) == expected


def test_networks():
    assert network_of("198.51.100.77") == "198.51.100.0/24"
    assert network_of("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert network_of(None) is None


def test_bad_trusted_proxies_are_reported():
    errors = []
    parse_networks(["10.0.0.0/8", "not-a-net"], errors)
    assert errors == ["TRUSTED_PROXIES: 'not-a-net' is not an IP address or CIDR"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("trusted,expected", [("", "127.0.0.1"), ("127.0.0.1/32", "198.51.100.7")])
def test_signup_address_through_a_real_server(trusted, expected):
    with processes.daphne(TRUSTED_PROXIES=trusted) as server:
        status, body = request(server.port, "POST", "/api/v1/auth/register/",
                               {"username": f"via-{bool(trusted)}", "password": "tr1cky-Passphrase"},
                               headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.7"})
    assert status == 201, body
    assert SignupRecord.objects.get(user_id=body["id"]).address == expected


@pytest.mark.django_db(transaction=True)
def test_forged_addresses_do_not_escape_the_signup_limit(settings):
    """The issue's report: 50 registrations from one machine each carrying a made-up address."""
    with processes.daphne(API_THROTTLE_REGISTER="3/hour") as server:
        statuses = [request(server.port, "POST", "/api/v1/auth/register/",
                            {"username": f"forger{i}", "password": "tr1cky-Passphrase"},
                            headers={"X-Forwarded-For": f"203.0.113.{i}"})[0] for i in range(5)]
    assert statuses == [201, 201, 201, 429, 429]
