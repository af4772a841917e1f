"""JWT revocation and WebSocket tickets: the account's tokens die when its password changes.

Refresh tokens rotate (settings.SIMPLE_JWT): each refresh returns a new one and blacklists the
old one in simplejwt's ``token_blacklist`` tables, which also record every refresh token issued.
Access tokens are short-lived and never stored; to revoke them before they expire, changing a
password stamps ``auth:revoked:{user}`` in Redis with the Redis time, and every access token
issued (``iat``, whole seconds) before that stamp is refused — by the API
(``RevocableJWTAuthentication``), by the bet route's verified-token cache (apps.bets.auth) and
by the /ws/me/ handshake. The stamp lives as long as an access token can. A token issued in
the second of the change is refused too: a client that changed its password logs in again a
second later at worst.

A WebSocket ticket is a random single-use string worth one /ws/me/ connection of its owner for
``WS_TICKET_SECONDS``: a browser-less client that cannot send a header or a first message puts
it in the URL instead of its token, so no long-lived credential reaches an access log.
"""
from __future__ import annotations

import logging
import secrets

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken

from apps.core.redis import get_redis, redis_now_ts

log = logging.getLogger(__name__)

REVOKED_KEY = "auth:revoked:{}"
TICKET_KEY = "auth:ws-ticket:{}"
WS_TICKET_SECONDS = 30


def _access_lifetime() -> int:
    return int(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds())


def tokens_revoke_user(*, user_id: int) -> None:
    """Blacklist every refresh token of the account and refuse its access tokens issued so far."""
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    client = get_redis()
    client.set(REVOKED_KEY.format(int(user_id)), redis_now_ts(client), ex=_access_lifetime() + 60)
    outstanding = OutstandingToken.objects.filter(user_id=user_id).only("pk")
    # One row per token (a one-to-one): those already blacklisted are skipped by the conflict.
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in outstanding], ignore_conflicts=True)


def token_revoked(payload: dict) -> bool:
    """True when the access token's account revoked its tokens after this one was issued."""
    user_id, issued = payload.get(api_settings.USER_ID_CLAIM), payload.get("iat")
    if user_id is None:
        return True
    stamp = get_redis().get(REVOKED_KEY.format(user_id))
    if stamp is None:
        return False
    return not isinstance(issued, (int, float)) or issued < float(stamp)


def access_token_user_id(raw: str) -> int | None:
    """The active account an access token belongs to (signature, expiry, type, revocation), or None."""
    from django.contrib.auth import get_user_model

    try:
        access = AccessToken(raw)
    except TokenError:
        return None
    if token_revoked(access.payload):
        return None
    user_id = access.get(api_settings.USER_ID_CLAIM)
    return get_user_model().objects.filter(pk=user_id, is_active=True).values_list("pk", flat=True).first()


def ws_ticket_issue(*, user_id: int) -> str:
    ticket = secrets.token_urlsafe(24)
    get_redis().set(TICKET_KEY.format(ticket), int(user_id), ex=WS_TICKET_SECONDS)
    return ticket


def ws_ticket_redeem(ticket: str) -> int | None:
    """The ticket's account, once: a ticket opens one connection."""
    if not ticket or len(ticket) > 64:
        return None
    value = get_redis().getdel(TICKET_KEY.format(ticket))
    return int(value) if value is not None else None


class RevocableJWTAuthentication(JWTAuthentication):
    """simplejwt's authentication, refusing access tokens revoked by a password change."""

    def get_validated_token(self, raw_token):
        token = super().get_validated_token(raw_token)
        if token_revoked(token.payload):
            raise InvalidToken({"detail": "This token was revoked: sign in again.", "code": "token_not_valid"})
        return token


class RevocableJWTScheme(SimpleJWTScheme):
    target_class = "apps.accounts.tokens.RevocableJWTAuthentication"
    name = "jwtAuth"


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts_revoke_tokens_on_password_change")
def _password_changed(sender, instance, created, **kwargs):
    # AbstractBaseUser.save() keeps the new raw password in ``_password`` until after the save
    # (post_save runs inside it): it is set exactly when set_password() was called.
    if created or getattr(instance, "_password", None) is None:
        return
    user_id = instance.pk
    transaction.on_commit(lambda: tokens_revoke_user(user_id=user_id))
