"""The device fingerprint from a real browser: the vendored FingerprintJS computes it on the page,
the sr_dev cookie carries it, and the sign-up and the login record it (headless Chromium against
a real server)."""
from __future__ import annotations

import pytest

from tests.support import processes
from tests.support.browser import CHROMIUM, chromium
from tests.support.env import BASE_DIR

pytestmark = [
    pytest.mark.browser, pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: run ./scripts/install_browser.sh"),
    pytest.mark.skipif(not (BASE_DIR / "static/vendor/fingerprint.min.js").exists(),
                       reason="static/vendor is not fetched: run ./scripts/fetch_assets.sh"),
]


@pytest.fixture
def browser():
    with chromium() as browser:
        yield browser


def _device_cookie(page) -> str:
    page.wait_for_function("() => document.cookie.includes('sr_dev=')", timeout=15000)
    return next(c["value"] for c in page.context.cookies() if c["name"] == "sr_dev")


@pytest.mark.django_db(transaction=True)
def test_signup_and_login_carry_the_browsers_fingerprint(browser):
    from apps.botdetect.models import Sighting, SignupRecord

    with processes.daphne(DB_CONN_MAX_AGE=0) as server:
        page = browser.new_page()
        page.goto(f"{server.url}/signup/")
        device = _device_cookie(page)
        page.fill("input[name=username]", "browser-player")
        page.fill("input[name=password]", "tr1cky-Passphrase")
        page.click("button[type=submit]")
        page.wait_for_url(f"{server.url}/")
        record = SignupRecord.objects.get(user__username="browser-player")
        assert record.device == device and record.via == "page"
        assert record.languages  # a browser says which languages it reads
        page.context.clear_cookies()
        page.goto(f"{server.url}/login/")
        assert _device_cookie(page) == device  # the same browser, the same fingerprint
        page.fill("input[name=username]", "browser-player")
        page.fill("input[name=password]", "tr1cky-Passphrase")
        page.click("button[type=submit]")
        page.wait_for_url(f"{server.url}/")
        # the sign-up, the session it opens, and the login
        assert Sighting.objects.get(user=record.user, kind="device", value=device).hits == 3
