"""Who is on a personal socket (/ws/me/), never from a token in the query string (access logs).

In order: the session user, for a browser whose Origin passed apps.core.ws.OriginPolicy; a
bearer token in the handshake's ``Authorization`` header (native clients); a single-use ticket
in ``?ticket=`` (POST /api/v1/auth/ws-ticket/). Failing all three, the consumer waits for a
first message ``{"type": "auth", "token": "<access>"}``. Tokens are checked by
apps.accounts.tokens (signature, expiry, revocation, active account).
"""
from __future__ import annotations

from urllib.parse import parse_qs

from channels.db import database_sync_to_async

from apps.accounts.tokens import access_token_user_id, ws_ticket_redeem


def _bearer(scope: dict) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            text = value.decode("latin-1")
            if text[:7].lower() == "bearer ":
                return text[7:].strip() or None
    return None


async def scope_user_id(scope: dict) -> int | None:
    user = scope.get("user")
    if (scope.get("ws_client") == "browser" and user is not None and getattr(user, "is_authenticated", False)
            and user.is_active):
        return user.pk
    token = _bearer(scope)
    if token:
        return await token_user_id(token)
    ticket = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("ticket", [None])[-1]
    if ticket:
        return await database_sync_to_async(ws_ticket_redeem)(ticket)
    return None


async def token_user_id(token: str) -> int | None:
    if not isinstance(token, str) or not token or len(token) > 4096:
        return None
    return await database_sync_to_async(access_token_user_id)(token)
