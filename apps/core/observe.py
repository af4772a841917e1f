"""What a request says about its client, for fair play (apps.botdetect), recorded cheaply.

``ClientInfo`` is the trusted address (apps.core.net), its network, the device fingerprint the
page's script computed (static/js/device.js: cookie ``sr_dev``; API clients send ``X-Device``),
the user agent, the languages, a hash of the header names in the order the client sent them,
and whether the request came from a page or the API. Built from a Django request or, on the bet
fast path, from the ASGI scope's headers — the same fields either way.

``observe_bet`` is on the hot bet path: it builds one short JSON line and hands it to this
process's background publisher (apps.core.events), which appends it to the Redis list
``bd:observations`` in its next pipeline; the request never waits on Redis for it. A Celery
task (botdetect.drain) folds the list into the database. Sign-ups and logins are rare enough to
be written by botdetect directly.
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
import time
from dataclasses import dataclass

from apps.core.events import background_list_append
from apps.core.net import network_of, request_client_address

OBSERVATIONS_KEY = "bd:observations"
OBSERVATIONS_CAP = 200_000  # the list's length bound should the drain task stop (oldest dropped)
DEVICE_COOKIE = "sr_dev"
_DEVICE_RE = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
# Added by our proxies, not by the client: left out of the header-order fingerprint.
_PROXY_HEADERS = frozenset({"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-real-ip", "forwarded"})
_SKIP = _PROXY_HEADERS | {"content-length", "content-type"}


@dataclass(frozen=True, slots=True)
class ClientInfo:
    address: str | None
    network: str | None
    device: str | None
    user_agent: str
    languages: str
    header_names: str  # comma-separated, lowercase, in the client's order
    headers_hash: str
    via: str  # "page" or "api"

    def as_dict(self) -> dict:
        return {"a": self.address, "n": self.network, "d": self.device, "ua": self.user_agent,
                "l": self.languages, "hn": self.header_names, "h": self.headers_hash, "v": self.via}


def clean_device(value: str | None) -> str | None:
    return value if value and _DEVICE_RE.match(value) else None


@functools.lru_cache(maxsize=1024)  # clients send a handful of distinct header sets
def _names_and_hash(names: tuple[str, ...]) -> tuple[str, str]:
    header_names = ",".join(n for n in names if n not in _SKIP)[:600]
    return header_names, hashlib.sha1(header_names.encode()).hexdigest()[:16]


def _info(address, device, user_agent, languages, names: list[str], via: str) -> ClientInfo:
    header_names, headers_hash = _names_and_hash(tuple(names))
    return ClientInfo(address=address, network=network_of(address), device=clean_device(device),
                      user_agent=(user_agent or "")[:300], languages=(languages or "")[:100],
                      header_names=header_names, headers_hash=headers_hash, via=via)


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def client_info_from_request(request, *, via: str) -> ClientInfo:
    """From a Django (or DRF) request: META keeps the headers in the order they arrived."""
    meta = request.META
    names = [k[5:].lower().replace("_", "-") for k in meta if k.startswith("HTTP_")]
    device = meta.get("HTTP_X_DEVICE") or _cookie(meta.get("HTTP_COOKIE", ""), DEVICE_COOKIE)
    return _info(request_client_address(request), device, meta.get("HTTP_USER_AGENT"),
                 meta.get("HTTP_ACCEPT_LANGUAGE"), names, via)


def client_info_from_headers(headers: list[tuple[bytes, bytes]], *, address: str | None, via: str) -> ClientInfo:
    """From ASGI scope headers (the bet fast path), in their order."""
    found: dict[bytes, bytes] = {}
    names = []
    for name, value in headers:
        names.append(name.decode("latin-1").lower())
        found.setdefault(name.lower(), value)
    device = found.get(b"x-device")
    if device is None and b"cookie" in found:
        device_text = _cookie(found[b"cookie"].decode("latin-1"), DEVICE_COOKIE)
    else:
        device_text = device.decode("latin-1") if device else None
    return _info(address, device_text, found.get(b"user-agent", b"").decode("latin-1"),
                 found.get(b"accept-language", b"").decode("latin-1"), names, via)


def observe_bet(*, user_id: int, bet_id: int | None, info: ClientInfo) -> None:
    """Queue one bet observation (never raises: fair play must not fail a bet)."""
    try:
        line = json.dumps({"k": "bet", "u": int(user_id), "b": bet_id, "t": round(time.time(), 3), **info.as_dict()},
                          separators=(",", ":"))
        background_list_append(key=OBSERVATIONS_KEY, value=line, cap=OBSERVATIONS_CAP)
    except Exception:  # noqa: BLE001 - an observation lost is a signal weaker, not a bet refused
        pass
