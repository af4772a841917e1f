"""The admin shows times in the staff member's own zone (apps/core/timezones.py): the browser's
zone, kept in the ``stockrace_tz`` cookie by static/js/admin_zone.js on every admin page."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.utils import formats
from django.utils import timezone as dj_timezone

from apps.core.timezones import COOKIE, AdminTimezoneMiddleware, zone_named
from tests.support import factories as f

@pytest.fixture
def staff_client(client):
    staff = get_user_model().objects.create_user(username="zone-staff", password="x", is_staff=True,
                                                 is_superuser=True)
    client.force_login(staff)
    return client


def shown_in(moment: datetime, zone: str) -> str:
    """How the admin's change list writes a date-time (Django's localize of the local time)."""
    return formats.localize(moment.astimezone(ZoneInfo(zone)))


@pytest.mark.django_db
@pytest.mark.parametrize("cookie, zone", [
    ("Asia/Tokyo", "Asia/Tokyo"),
    ("America/New_York", "America/New_York"),
    (None, "UTC"),                    # no cookie yet: UTC, the server's zone
    ("Not/A_Zone", "UTC"),            # a zone we do not know: UTC
    ("../../etc/passwd", "UTC"),
])
def test_the_race_list_shows_the_start_in_the_staff_zone(staff_client, cookie, zone):
    race = f.RaceFactory(state="open", title="Zone race")
    if cookie is not None:
        staff_client.cookies[COOKIE] = cookie
    page = staff_client.get("/admin/races/race/")
    assert page.status_code == 200
    row = next(line for line in page.content.decode().splitlines() if "Zone race" in line)
    other = "UTC" if zone != "UTC" else "Asia/Tokyo"
    assert shown_in(race.starts_at, zone) in row, row
    assert shown_in(race.starts_at, other) not in row, row


@pytest.mark.django_db
def test_every_admin_page_sets_the_cookie_from_the_browser_login_included(staff_client, client):
    for path in ("/admin/", "/admin/races/race/"):
        assert "js/admin_zone.js" in staff_client.get(path).content.decode()
    staff_client.logout()
    assert "js/admin_zone.js" in staff_client.get("/admin/login/").content.decode()


def test_only_the_admin_is_switched_and_the_zone_is_reset_after_the_request():
    seen = []
    middleware = AdminTimezoneMiddleware(lambda request: seen.append(dj_timezone.get_current_timezone_name()))
    for path in ("/admin/points/ledgerentry/", "/api/v1/races/", "/races/1/"):
        request = RequestFactory().get(path)
        request.COOKIES[COOKIE] = "Asia/Tokyo"
        middleware(request)
        assert dj_timezone.get_current_timezone_name() == "UTC"
    assert seen == ["Asia/Tokyo", "UTC", "UTC"]


def test_zone_names_are_bounded():
    assert zone_named("x" * 65).key == "UTC"
    assert zone_named("Europe/Paris\x00").key == "UTC"
    assert zone_named("").key == "UTC"
    assert zone_named("Asia/Tokyo").key == "Asia/Tokyo"
