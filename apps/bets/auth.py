"""Token authentication for the bet path: the player's id comes from the signed token alone.

No user row is read per request (the bet statement itself refuses a deactivated player), which
saves a query on the hottest write path. A token already verified by this process is not
verified again until it expires: a client sends the same token with every bet, and checking
its signature and claims costs about half a millisecond of CPU each time. The cache is keyed
by the whole token, signature included, so a token is either byte-for-byte one that passed
every check or it is verified afresh; its expiry is still checked on every request, and so is
the account's revocation (a password change: apps/accounts/tokens.py).

The OpenAPI scheme gets a name of its own so that it does not clash with the site-wide
``jwtAuth`` scheme.
"""
from __future__ import annotations

import time

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken

from apps.accounts.tokens import token_revoked

VERIFIED_TOKENS_MAX = 50_000  # per process; tokens are a few hundred bytes


class PlayerTokenAuthentication(JWTStatelessUserAuthentication):
    """simplejwt's stateless authentication: ``request.user`` is a TokenUser built from the token."""

    verified: dict[bytes, tuple[float, object]] = {}

    def get_validated_token(self, raw_token: bytes):
        hit = self.verified.get(raw_token)
        if hit is not None:
            expires, token = hit
            if time.time() < expires:
                self._check_revocation(token)
                return token
            self.verified.pop(raw_token, None)
        token = super().get_validated_token(raw_token)
        self._check_revocation(token)
        expires = token.payload.get("exp")
        if isinstance(expires, (int, float)):
            if len(self.verified) >= VERIFIED_TOKENS_MAX:
                self.verified.clear()  # rare, cheap, and never wrong: tokens are verified again
            self.verified[raw_token] = (float(expires), token)
        return token


    @staticmethod
    def _check_revocation(token) -> None:
        # A cached token is still checked against the account's revocation (one Redis GET):
        # a password change ends its bets at once (apps/accounts/tokens.py).
        if token_revoked(token.payload):
            raise InvalidToken({"detail": "This token was revoked: sign in again.", "code": "token_not_valid"})


class PlayerTokenScheme(SimpleJWTScheme):
    target_class = "apps.bets.auth.PlayerTokenAuthentication"
    name = "jwtPlayerToken"
