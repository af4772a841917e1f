"""Login lockout (django-axes): too many failed logins for one username from one address lock
that pair out of every login route — /login/, /admin/login/ and POST /api/v1/auth/token/ —
for LOGIN_LOCKOUT_MINUTES, with a message saying when to try again.

axes counts failures through Django's ``user_login_failed`` signal and refuses a locked-out
login in ``LockoutBackend`` (first in AUTHENTICATION_BACKENDS) before any password is checked.
Pages get the lockout page from ``AxesMiddleware`` (``lockout_response``); the token API, whose
DRF request axes does not see, asks ``locked_out_error`` itself (apps.accounts.api). A successful
login clears the pair's failures on every route: axes hears a session login through Django's
``user_logged_in`` signal, and the token API, which sends none, calls ``login_succeeded``.
"""
from __future__ import annotations

import math
from datetime import timedelta

from axes.backends import AxesStandaloneBackend
from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max
from django.shortcuts import render
from django.utils import timezone

from apps.core.api import ApiError, json_error_response
from apps.core.net import request_client_address


class LockoutBackend(AxesStandaloneBackend):
    """axes' lockout check; a call without a request (a shell, ``Client.login`` in tests) is not a
    login through a route and is left to the next backend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def retry_after_seconds(*, username: str | None, address: str | None) -> int:
    """Seconds until the lockout of (username, address) ends (at least 1)."""
    cool_off: timedelta = settings.AXES_COOLOFF_TIME
    last = (AccessAttempt.objects.filter(username=username, ip_address=address)
            .aggregate(last=Max("attempt_time"))["last"])
    if last is None:
        return max(1, int(cool_off.total_seconds()))
    return max(1, math.ceil((last + cool_off - timezone.now()).total_seconds()))


def lockout_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    at = timezone.now() + timedelta(seconds=seconds)
    return (f"Too many failed logins for this account from your address. Try again in {minutes} minute"
            f"{'s' if minutes != 1 else ''} (after {at:%H:%M} UTC).")


def _username(request, credentials) -> str | None:
    if credentials and credentials.get("username"):
        return credentials["username"]
    return request.POST.get("username") if request.method == "POST" else None


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: 429 with Retry-After; the error shape under /api/, else the page."""
    seconds = retry_after_seconds(username=_username(request, credentials), address=request_client_address(request))
    message = lockout_message(seconds)
    if request.path.startswith("/api/"):
        response = json_error_response(429, "locked_out", message)
    else:
        response = render(request, "accounts/locked_out.html", {"message": message, "seconds": seconds}, status=429)
    response["Retry-After"] = str(seconds)
    return response


def locked_out_error(*, username: str | None, address: str | None) -> ApiError:
    """The token API's refusal of a locked-out login (429, Retry-After in the error handler's copy)."""
    seconds = retry_after_seconds(username=username, address=address)
    error = ApiError(lockout_message(seconds), code="locked_out", status_code=429)
    error.wait = seconds
    return error


def login_succeeded(*, request, user) -> None:
    """A token login succeeded: clear the (username, address) failures as a page login does —
    axes' own ``user_logged_in`` handler, without the signal's other receivers (the login hooks
    and the daily bonus, which the token API calls itself)."""
    AxesProxyHandler.user_logged_in(sender=type(user), request=request, user=user)
