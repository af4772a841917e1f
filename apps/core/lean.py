"""Lean routes: a few hot JSON POSTs of token-authenticated clients, served in front of Django.

Through Django and DRF a request spends most of its server CPU on the framework — building the
request, URL resolution, the middleware, DRF's request wrapping and dispatch — none of which a
bearer-token JSON POST needs (docs/BENCHMARKS.md: bet placement, orders, market trades). This
ASGI app (stockrace/asgi.py puts it in front of Django) answers exactly that case for the routes
registered with it, and hands everything else to Django unchanged, body included. It holds all
the plumbing, once; each app's route (``LeanRoute`` subclass, apps/*/fastpath.py) only turns the
parsed request into a call of that app's own service functions — the ones its DRF view calls —
and returns the answer, so there is one implementation of every rule (STYLE.md habit 15).

What every route gets here:

- matching by method and path pattern, and the route's switch (a boolean setting such as
  ``BET_FAST_PATH``, read on each request: off, Django answers);
- Django answers instead whenever the request is unusual: a repeated header, no bearer token, a
  cookie (a browser session), a body that is not ``application/json`` or larger than the route's
  ``max_body``, a query string, a host not in ALLOWED_HOSTS, a plain-HTTP request the site
  redirects to HTTPS, a token that does not verify (DRF then answers 401 as it always does), a
  body that is not JSON (DRF's parse error, from the same parser);
- the token: the authenticator passed in (``apps.bets.auth.PlayerTokenAuthentication``: simplejwt
  with the per-process verified-token cache and the revocation check of apps/accounts/tokens.py);
- the body: ``apps.core.inputs.loads_json``, the API's own bounded parser;
- the client's address by the one rule (``apps.core.net.client_address``), the Idempotency-Key
  header, Django's request signals (connection upkeep) around the route's work;
- every exception answered as DRF answers it, through ``apps.core.api.exception_handler`` (the
  one error shape, Retry-After and WWW-Authenticate kept; Redis or the database out of reach:
  503 ``unavailable``, apps/core/unavailable.py); one it leaves unanswered is logged and answered
  500 in the error shape, as Django's handler500 does for /api/;
- the site's security headers, from Django's own middleware (apps.core.security_headers);
- ``drf_throttles``: a route whose DRF view has throttles runs the very same throttle classes.

The route's work runs on the Django handler's pool of worker threads (stockrace/handlers.py), so
it keeps the same database connections a Django request would.
"""
from __future__ import annotations

import json
import logging
import re
from typing import Iterable

from django.conf import settings
from django.core import signals
from django.core.serializers.json import DjangoJSONEncoder
from django.http.request import split_domain_port, validate_host
from rest_framework import exceptions
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from apps.core import security_headers
from apps.core.api import error_body, exception_handler
from apps.core.inputs import InvalidJSON, loads_json
from apps.core.net import client_address

log = logging.getLogger(__name__)

SERVER_ERROR = "Something went wrong on our side; please try again."
KEPT_HEADERS = ("Retry-After", "WWW-Authenticate")  # of an exception's answer, as the API keeps them


class LeanRequest:
    """What a route's ``handle`` gets: the verified user, the parsed JSON, the path's groups."""

    __slots__ = ("scope", "headers", "args", "user", "data")

    def __init__(self, scope: dict, headers: dict[bytes, bytes], args: tuple[str, ...], user, data):
        self.scope = scope
        self.headers = headers  # lower-case names, each once
        self.args = args  # the path pattern's groups
        self.user = user  # the authenticator's user (a simplejwt TokenUser: .pk, .is_authenticated)
        self.data = data

    @property
    def path(self) -> str:
        return self.scope["path"]

    @property
    def address(self) -> str:
        """The client's address by the one rule (apps.core.net): a forged X-Forwarded-For changes nothing."""
        client = self.scope.get("client") or ("", 0)
        forwarded = self.headers.get(b"x-forwarded-for")
        return client_address(client[0], forwarded.decode("latin-1") if forwarded else None)

    @property
    def idempotency_key(self) -> str | None:
        key = self.headers.get(b"idempotency-key")
        return key.decode("latin-1") if key is not None else None


class LeanRoute:
    """One lean route. Subclasses set ``path`` (a compiled pattern matched against the whole path;
    its groups become ``request.args``), ``switch`` (the name of the boolean setting that turns
    it on) and ``name``, and implement ``handle``."""

    name = "lean route"
    method = "POST"
    path: re.Pattern
    switch: str
    max_body = 16 * 1024  # the hot bodies are a few dozen bytes; anything larger goes the general way

    def enabled(self) -> bool:
        return bool(getattr(settings, self.switch))

    def handle(self, request: LeanRequest) -> tuple[int, object]:
        """(status, JSON-able answer), on a worker thread; a refusal is raised as the DRF view raises it."""
        raise NotImplementedError


class _ThrottledRequest:
    """What DRF's throttles read of a request: its method, its user and its address (REMOTE_ADDR,
    which apps.core.net's middleware sets to the trusted client address for Django requests)."""

    def __init__(self, request: LeanRequest):
        self.method = request.scope.get("method", "POST")  # the lean routes are POSTs
        self.user = request.user
        self.META = {"REMOTE_ADDR": request.address}


def drf_throttles(view_class, request: LeanRequest, **kwargs):
    """Run the throttles of the DRF view ``view_class`` for this request exactly as DRF runs them
    (its ``throttle_classes``, instantiated per request, and its ``throttled``): a request over a
    limit raises the view's Throttled, counted in the same histories as the view's requests.
    Returns the request object the throttles saw (what a throttle left on it, such as the market
    trades throttle's clock)."""
    view = view_class()
    view.args, view.kwargs = (), kwargs
    view.request = _ThrottledRequest(request)
    view.check_throttles(view.request)
    return view.request


def dumps(data) -> bytes:
    """Compact JSON of an answer, with Django's encoder (Decimal, datetime, UUID)."""
    return json.dumps(data, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False).encode()


def _replay(messages: list, receive):
    """A receive() that gives back the messages already read, then the rest from the client."""
    pending = list(messages)

    async def replay():
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


class LeanRoutes:
    """The ASGI app in front of Django (``django_app``: stockrace.handlers' handler, whose worker
    threads run the routes) serving ``routes`` with ``authenticator`` checking the tokens."""

    def __init__(self, django_app, *, routes: Iterable[LeanRoute], authenticator):
        self.django = django_app
        self.routes = tuple(routes)
        self.auth = authenticator
        self._in_thread = django_app._in_thread

    def _route(self, scope) -> tuple[LeanRoute, tuple[str, ...]] | None:
        for route in self.routes:
            if scope["method"] == route.method and (match := route.path.fullmatch(scope["path"])) and route.enabled():
                return route, match.groups()
        return None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or (found := self._route(scope)) is None:
            return await self.django(scope, receive, send)
        route, args = found
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
        # None: Django's SecurityMiddleware answers this request itself (the HTTPS redirect).
        if (security := security_headers.for_scope(scope, headers)) is None:
            return await self.django(scope, receive, send)
        body, messages = b"", []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            if len(body) > route.max_body:
                return await self.django(scope, _replay(messages, receive), send)
            if not message.get("more_body"):
                break
        answer = await self._in_thread(self.respond, route, scope, headers, args, auth[7:].strip(), body)
        if answer is None:
            return await self.django(scope, _replay(messages, receive), send)
        status, payload, extra = answer
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(payload)).encode()), *extra, *security]})
        await send({"type": "http.response.body", "body": payload})

    def respond(self, route: LeanRoute, scope, headers: dict, args: tuple, token: bytes, body: bytes):
        """On a worker thread: (status, JSON bytes, extra headers), or None to let Django answer."""
        domain, _port = split_domain_port(headers.get(b"host", b"").decode("latin-1"))
        if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
            return None
        try:
            user = self.auth.get_user(self.auth.get_validated_token(token))
        except (InvalidToken, TokenError, exceptions.AuthenticationFailed):
            return None  # DRF's 401, with its WWW-Authenticate
        except Exception as exc:  # Redis unreachable (the revocation check), a bug
            return self._failure(route, scope, exc)
        try:
            data = loads_json(body)
        except InvalidJSON:
            return None  # DRF's parse error, from the same parser
        signals.request_started.send(sender=self.__class__, scope=scope)
        try:
            status, answer = route.handle(LeanRequest(scope, headers, args, user, data))
        except Exception as exc:
            return self._failure(route, scope, exc)
        finally:
            signals.request_finished.send(sender=self.__class__)
        return status, dumps(answer), []

    @staticmethod
    def _failure(route: LeanRoute, scope, exc: Exception):
        """An exception answered as the API answers it; one it does not answer is a 500."""
        response = exception_handler(exc, {})
        if response is None:  # a bug: logged like Django logs a 500, answered in the error shape
            log.error("%s: POST %s failed", route.name, scope["path"], exc_info=exc)
            return 500, dumps(error_body("server_error", SERVER_ERROR)), []
        extra = [(k.lower().encode(), str(v).encode("latin-1")) for k, v in response.items() if k in KEPT_HEADERS]
        return response.status_code, dumps(response.data), extra
