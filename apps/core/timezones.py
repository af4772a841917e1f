"""The staff member's own time zone in the admin.

The browser knows its zone; the server does not. ``static/js/admin_zone.js`` (loaded on every admin
page, the login page included, by templates/admin/base.html) keeps it in the ``stockrace_tz``
cookie, scoped to ``/admin/``, and ``AdminTimezoneMiddleware`` activates that zone for the admin's
requests, so its change lists, detail pages and date-time inputs show and read times in it
(Django renders aware date-times in the active zone). A missing or unknown zone leaves UTC, the
server's zone. The players' pages format times in the browser instead.
"""
from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone

COOKIE = "stockrace_tz"
ADMIN_PREFIX = "/admin/"
UTC = ZoneInfo("UTC")


def zone_named(name: str | None) -> ZoneInfo:
    """The zone a browser reported, or UTC when it sent none or one we do not know."""
    if not name or len(name) > 64:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


class AdminTimezoneMiddleware:
    """Activates the browser's zone (``stockrace_tz``) for requests to the admin."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(ADMIN_PREFIX):
            return self.get_response(request)
        timezone.activate(zone_named(request.COOKIES.get(COOKIE)))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
