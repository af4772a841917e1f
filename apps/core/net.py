"""The client's address, the one way every part of the server learns it.

A client can write anything into ``X-Forwarded-For``, so the header is believed only as far as
it was written by proxies we run. The rule (``client_address``):

- the socket's peer is the client, unless the peer is one of ``TRUSTED_PROXIES`` (CIDRs);
- if it is, walk ``X-Forwarded-For`` from the right (each proxy appends the address it saw) and
  take the first entry that is not itself a trusted proxy: the rightmost untrusted entry. What
  lies left of it was written by the client and is ignored;
- an entry that is not an IP address stops the walk: the last trusted hop is then the client.

nginx (deploy/nginx/stockrace.conf) overwrites the header with the address it saw, so behind it
the header holds exactly one entry. Django requests get the result once, in
``ClientAddressMiddleware`` (first in MIDDLEWARE), which also writes it to ``REMOTE_ADDR`` so that
DRF's throttles (``NUM_PROXIES = 0``: REMOTE_ADDR only), django-axes, the bet limits and the logs
all see the same address; the peer stays in ``META["PEER_ADDR"]``. The lean routes
(apps.core.lean), which run before Django, call ``client_address`` themselves.

``network_of`` gives the /24 (IPv4) or /64 (IPv6) an address belongs to: the unit of the signup
limit per network and of linked accounts by network.
"""
from __future__ import annotations

import functools
import ipaddress
from typing import Iterable

from django.conf import settings

_MARK = "stockrace.client_address"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str], errors: list[str] | None = None) -> tuple[Network, ...]:
    """CIDRs (or single addresses) as networks; bad ones are reported in ``errors`` (or raise)."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            if errors is None:
                raise
            errors.append(f"TRUSTED_PROXIES: {value!r} is not an IP address or CIDR")
    return tuple(networks)


@functools.lru_cache(maxsize=8)
def _trusted(values: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(values)


def trusted_networks() -> tuple[Network, ...]:
    return _trusted(tuple(getattr(settings, "TRUSTED_PROXIES", ()) or ()))


def _ip(value: str | None):
    if not value:
        return None
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[::1]:443"
        value = value[1:value.index("]")]
    elif value.count(":") == 1:  # "1.2.3.4:5678"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _is_trusted(address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def client_address(peer: str | None, forwarded_for: str | None = None,
                   networks: tuple[Network, ...] | None = None) -> str | None:
    """The client's address from the socket peer and the X-Forwarded-For header (rule above)."""
    return _client_address(peer, forwarded_for, trusted_networks() if networks is None else networks)


@functools.lru_cache(maxsize=8192)  # on every request: the same few addresses come again and again
def _client_address(peer: str | None, forwarded_for: str | None, nets: tuple[Network, ...]) -> str | None:
    current = _ip(peer)
    if current is None:
        return peer or None
    if not forwarded_for or not nets or not _is_trusted(current, nets):
        return str(current)
    for entry in reversed(forwarded_for.split(",")):
        hop = _ip(entry)
        if hop is None:
            break  # not written by a proxy of ours: believe nothing further left
        current = hop
        if not _is_trusted(hop, nets):
            break
    return str(current)


def request_client_address(request) -> str | None:
    """The client address of a Django (or DRF) request, computed once per request.

    Also the AXES_CLIENT_IP_CALLABLE. After the first call ``REMOTE_ADDR`` holds the result and
    ``PEER_ADDR`` the socket's peer."""
    meta = request.META
    if _MARK in meta:
        return meta[_MARK]
    peer = meta.get("REMOTE_ADDR")
    address = client_address(peer, meta.get("HTTP_X_FORWARDED_FOR"))
    meta["PEER_ADDR"] = peer
    meta["REMOTE_ADDR"] = address
    meta[_MARK] = address
    return address


@functools.lru_cache(maxsize=8192)
def network_of(address: str | None) -> str | None:
    """The /24 (IPv4) or /64 (IPv6) holding ``address``, as CIDR text; None for no address."""
    ip = _ip(address)
    if ip is None:
        return None
    prefix = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


class ClientAddressMiddleware:
    """First in MIDDLEWARE: settles the request's client address before anything reads it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_client_address(request)
        return self.get_response(request)
