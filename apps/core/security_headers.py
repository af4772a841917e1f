"""The security headers of the site's responses, for ASGI routes that answer without Django.

Django's SecurityMiddleware and XFrameOptionsMiddleware (when settings.MIDDLEWARE lists them)
put X-Content-Type-Options, Referrer-Policy, Cross-Origin-Opener-Policy, Strict-Transport-Security
(on HTTPS) and X-Frame-Options on every response, and SecurityMiddleware redirects plain HTTP to
HTTPS when SECURE_SSL_REDIRECT says so. A route in front of Django (the lean routes,
apps/core/lean.py) gets the same headers by running those very middleware classes, with the
current settings, on a stub request and an empty response; what they depend on in a request is
its scheme (the proxy's SECURE_PROXY_SSL_HEADER included) and its path (SECURE_REDIRECT_EXEMPT),
so the answer is cached per scheme, proxy header value and path, and dropped when a setting
changes (tests).
"""
from __future__ import annotations

import functools

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

# The middleware of settings.MIDDLEWARE that only look at the request's scheme and path and only
# add response headers (or redirect to HTTPS), in the order MIDDLEWARE gives them.
HEADER_MIDDLEWARE = ("django.middleware.security.SecurityMiddleware",
                     "django.middleware.clickjacking.XFrameOptionsMiddleware")


class _StubRequest(HttpRequest):
    def __init__(self, scheme: str, meta: dict, path: str):
        super().__init__()
        self._scope_scheme = scheme
        self.META = meta
        self.path = self.path_info = path
        self.method = "POST"

    def _get_scheme(self) -> str:  # as ASGIRequest: the server's scheme unless the proxy header says
        return self._scope_scheme

    def get_host(self) -> str:  # only the HTTPS redirect asks, and its answer is not used
        return "stub.invalid"


@functools.lru_cache(maxsize=1024)
def response_headers(scheme: str, proxy_value: str | None, path: str) -> tuple[tuple[bytes, bytes], ...] | None:
    """The headers the site's middleware adds to an answer to a request with this scheme, value of
    the SECURE_PROXY_SSL_HEADER header and path, as ASGI header pairs; None when the middleware
    answers such a request itself (the HTTPS redirect): then Django must answer it."""
    meta = {}
    if settings.SECURE_PROXY_SSL_HEADER and proxy_value is not None:
        meta[settings.SECURE_PROXY_SSL_HEADER[0]] = proxy_value
    response = HttpResponse()
    del response["Content-Type"]  # the route sets its own

    def view(request):
        return response

    chain = view
    for dotted in reversed([name for name in settings.MIDDLEWARE if name in HEADER_MIDDLEWARE]):
        chain = import_string(dotted)(chain)
    if chain(_StubRequest(scheme, meta, path)) is not response:
        return None
    return tuple((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in response.items())


def proxy_header_name() -> bytes | None:
    """The ASGI (lower-case) name of the SECURE_PROXY_SSL_HEADER header, e.g. b"x-forwarded-proto"."""
    if not settings.SECURE_PROXY_SSL_HEADER:
        return None
    meta_name = settings.SECURE_PROXY_SSL_HEADER[0]
    return meta_name.removeprefix("HTTP_").lower().replace("_", "-").encode("latin-1")


def for_scope(scope: dict, headers: dict[bytes, bytes]) -> tuple[tuple[bytes, bytes], ...] | None:
    """``response_headers`` for an ASGI request (``headers``: its header dict, lower-case names)."""
    name = proxy_header_name()
    value = headers.get(name) if name else None
    return response_headers(scope.get("scheme") or "http", value.decode("latin-1") if value is not None else None,
                            scope["path"])


@receiver(setting_changed)
def _forget(**kwargs) -> None:
    response_headers.cache_clear()
