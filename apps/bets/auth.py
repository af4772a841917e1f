"""Token authentication for the bet path: the player's id comes from the signed token alone.

No user row is read per request (the bet statement itself refuses a deactivated player), which
saves a query on the hottest write path. The OpenAPI scheme gets a name of its own so that it
does not clash with the site-wide ``jwtAuth`` scheme.
"""
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication


class PlayerTokenAuthentication(JWTStatelessUserAuthentication):
    """simplejwt's stateless authentication: ``request.user`` is a TokenUser built from the token."""


class PlayerTokenScheme(SimpleJWTScheme):
    target_class = "apps.bets.auth.PlayerTokenAuthentication"
    name = "jwtPlayerToken"
