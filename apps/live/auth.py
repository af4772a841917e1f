"""Who is on a personal socket: the session user (AuthMiddlewareStack) or a JWT in ``?token=``."""
from __future__ import annotations

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken


def _user_id_from_token(token: str) -> int | None:
    try:
        access = AccessToken(token)  # checks the signature, the expiry and the token type
    except TokenError:
        return None
    user_id = access.get(api_settings.USER_ID_CLAIM)
    if user_id is None:
        return None
    return get_user_model().objects.filter(pk=user_id, is_active=True).values_list("pk", flat=True).first()


async def scope_user_id(scope: dict) -> int | None:
    user = scope.get("user")
    if user is not None and getattr(user, "is_authenticated", False) and user.is_active:
        return user.pk
    token = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [None])[-1]
    if not token:
        return None
    return await database_sync_to_async(_user_id_from_token)(token)
