"""The bet POST for token-authenticated JSON clients, served without Django's request machinery.

``POST /api/v1/races/{id}/bets/`` is the hottest write path (docs/BENCHMARKS.md: "Bet
placement"). Through Django and DRF, a bet spends about a quarter of its server CPU on the
framework — building the request, signals aside, URL resolution, nine middleware, DRF's
request wrapping and dispatch — none of which a bearer-token JSON request needs. This ASGI
route sits in front of Django (stockrace/asgi.py) and serves exactly that case with the same
parts the DRF view uses, so there is one implementation of every rule:

- the token: ``apps.bets.auth.PlayerTokenAuthentication`` (simplejwt, cached verification);
- the body: ``apps.bets.serializers.parse_bet_request``;
- the rate limits, clock and odds: ``apps.bets.throttles.bet_preflight``;
- the bet: ``apps.bets.services.bet_place``; the answer: ``bet_representation``;
- refusals: ``apps.core.api.exception_handler``, the one error shape, with Retry-After.

Anything else goes to Django unchanged, body included: another method or path, no bearer
token, a cookie (a browser session), a body that is not JSON or is large, a host not in
ALLOWED_HOSTS, a plain-HTTP request the site redirects to HTTPS, and a token that does not
verify (DRF then answers 401 as it always does). The answers carry the site's security headers,
computed by Django's own middleware (apps.core.security_headers).
``tests/bets/test_fastpath.py`` checks that both routes answer every case the same way.
"""
from __future__ import annotations

import json
import logging
import re

from django.conf import settings
from django.core import signals
from django.core.serializers.json import DjangoJSONEncoder
from django.http.request import split_domain_port, validate_host
from rest_framework import exceptions
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from apps.bets.auth import PlayerTokenAuthentication
from apps.bets.errors import rate_limited
from apps.bets.serializers import bet_representation, parse_bet_request
from apps.bets.services import bet_place
from apps.bets.throttles import bet_preflight
from apps.core import security_headers
from apps.core.api import error_body, exception_handler
from apps.core.net import client_address
from apps.core.observe import client_info_from_headers, observe_bet
from apps.core.inputs import InvalidJSON, loads_json

log = logging.getLogger(__name__)

BET_PATH = re.compile(r"^/api/v1/races/([1-9][0-9]{0,17})/bets/$")
MAX_BODY = 16 * 1024  # a bet is a few dozen bytes; anything larger goes the general way


class BetFastPath:
    def __init__(self, django_app):
        self.django = django_app
        self.auth = PlayerTokenAuthentication()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or not (match := BET_PATH.match(scope["path"])):
            return await self.django(scope, receive, send)
        headers = {}
        for name, value in scope["headers"]:
            if name in headers:  # a repeated header: leave the interpretation to Django
                return await self.django(scope, receive, send)
            headers[name] = value
        auth = headers.get(b"authorization", b"")
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if (auth[:7].lower() != b"bearer " or b"cookie" in headers or ctype != b"application/json"
                or scope.get("query_string")):
            return await self.django(scope, receive, send)
        # The site's security headers, from Django's own middleware (apps.core.security_headers);
        # None: that middleware answers this request itself (the HTTPS redirect).
        if (security := security_headers.for_scope(scope, headers)) is None:
            return await self.django(scope, receive, send)
        body, messages = b"", []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            if len(body) > MAX_BODY:
                return await self.django(scope, _replay(messages, receive), send)
            if not message.get("more_body"):
                break
        answer = await self.django._in_thread(self.respond, scope, headers, int(match[1]), auth[7:].strip(), body)
        if answer is None:
            return await self.django(scope, _replay(messages, receive), send)
        status, payload, extra = answer
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(payload)).encode()), *extra, *security]})
        await send({"type": "http.response.body", "body": payload})

    def respond(self, scope, headers: dict, race_id: int, token: bytes, body: bytes):
        """On a worker thread: (status, JSON bytes, extra headers), or None to let Django answer."""
        host = headers.get(b"host", b"").decode("latin-1")
        domain, _port = split_domain_port(host)
        if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
            return None
        try:
            user = self.auth.get_user(self.auth.get_validated_token(token))
        except (InvalidToken, TokenError, exceptions.AuthenticationFailed):
            return None  # DRF's 401, with its WWW-Authenticate
        except Exception:  # Redis unreachable (the revocation check), a bug: answered in the error shape
            log.exception("bet fast path: token check for POST %s failed", scope["path"])
            return 500, _dumps(error_body("server_error", "Something went wrong on our side; please try again.")), []
        try:
            data = loads_json(body)  # the API's own parser (apps.core.inputs)
        except InvalidJSON:
            return None  # DRF's parse error, from the same parser
        signals.request_started.send(sender=self.__class__, scope=scope)
        try:
            return self._place(scope, headers, race_id, user, data)
        finally:
            signals.request_finished.send(sender=self.__class__)

    def _place(self, scope, headers: dict, race_id: int, user, data):
        client = scope.get("client") or ("", 0)
        forwarded = headers.get(b"x-forwarded-for")
        # The one client-address rule (apps.core.net): a forged X-Forwarded-For changes nothing.
        address = client_address(client[0], forwarded.decode("latin-1") if forwarded else None)
        try:
            preflight = bet_preflight(race_id=race_id, user_id=user.pk, ip=address)
            if preflight.wait > 0:
                raise rate_limited(preflight.wait)
            key = headers.get(b"idempotency-key")
            bet = bet_place(user=user, race_id=race_id, idempotency_key=key.decode("latin-1") if key else None,
                            client_ip=address, preflight=preflight, **parse_bet_request(data))
            if not bet.replayed:
                observe_bet(user_id=bet.user_id, bet_id=bet.pk,
                            info=client_info_from_headers(scope["headers"], address=address, via="api"))
        except exceptions.APIException as exc:
            response = exception_handler(exc, {})
            extra = [(k.lower().encode(), str(v).encode("latin-1")) for k, v in response.items()
                     if k in ("Retry-After", "WWW-Authenticate")]
            return response.status_code, _dumps(response.data), extra
        except Exception:  # a bug: logged like Django logs a 500, answered in the error shape
            log.exception("bet fast path: POST %s failed", scope["path"])
            return 500, _dumps(error_body("server_error", "Something went wrong on our side; please try again.")), []
        return 201, _dumps(bet_representation(bet)), []

    @staticmethod
    def _security(scope) -> tuple[tuple[bytes, bytes], ...]:
        """The site's security headers for ``scope`` (apps.core.security_headers), for routes built on
        this one; they hand a request the HTTPS redirect concerns to Django before reading it."""
        return security_headers.for_scope(scope, dict(scope["headers"])) or ()


def _dumps(data) -> bytes:
    return json.dumps(data, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False).encode()


def _replay(messages: list, receive):
    """A receive() that gives back the messages already read, then the rest from the client."""
    pending = list(messages)

    async def replay():
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
