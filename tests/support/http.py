"""A tiny HTTP client for tests that talk to a real server: JSON in, JSON (or text) out."""
from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit


def request(server: int | str, method: str, path: str, body=None, headers: dict | None = None, *,
            raw: bytes | None = None, token: str | None = None, timeout: float = 60) -> tuple[int, dict | str | None]:
    """``method path`` on ``server`` (a loopback port, or a base URL such as
    ``http://127.0.0.1:8000``): (status, the decoded JSON body, the text when it is not JSON,
    or None when empty). ``body`` is sent as JSON, ``raw`` as given; ``token`` as a bearer token."""
    if isinstance(server, int):
        host, port = "127.0.0.1", server
    else:
        parts = urlsplit(server)
        host, port = parts.hostname, parts.port or 80
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=payload, headers=sent)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    if not data:
        return response.status, None
    try:
        return response.status, json.loads(data)
    except ValueError:
        return response.status, data.decode(errors="replace")


def token_for(server: int | str, username: str, password: str) -> str:
    """A JWT access token from /api/v1/auth/token/."""
    status, body = request(server, "POST", "/api/v1/auth/token/", {"username": username, "password": password})
    assert status == 200, body
    return body["access"]
