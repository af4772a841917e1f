"""What the browser tests share beyond tests/support (Chromium in tests/support/browser, the server
and the race engine in tests/support/processes): screenshots, quotes, a page's error log."""
from __future__ import annotations

from tests.support.browser import CHROMIUM  # noqa: F401 - the web tests import it from here
from tests.support.env import BASE_DIR

ARTIFACTS = BASE_DIR / "test-artifacts"


def write_quotes(prices: dict[str, float]) -> None:
    """Live quotes as the market-data worker writes them, received now, a cent either side."""
    from tests.support import factories

    factories.write_quotes(prices, spread=0.01, volume=1000)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


class PageLog:
    """What went wrong on a page as the browser saw it: console errors, uncaught exceptions, failed
    requests and 4xx/5xx answers (``expected`` lists URL parts allowed to answer 4xx)."""

    def __init__(self, page, *, expected: tuple[str, ...] = ()):
        self.problems: list[str] = []
        self.expected = expected
        page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text} ({page.url})"))
        page.on("pageerror", lambda e: self.problems.append(f"exception: {e} ({page.url})"))
        page.on("requestfailed", lambda r: self._failed(r))
        page.on("response", lambda r: r.status >= 400 and not self._allowed(r.url)
                and self.problems.append(f"HTTP {r.status}: {r.request.method} {r.url}"))

    def _allowed(self, url: str) -> bool:
        return any(part in url for part in self.expected)

    def _failed(self, request) -> None:
        # A request the page itself abandoned (a newer chart load, a navigation) is not a failure.
        if request.failure in ("net::ERR_ABORTED",):
            return
        self.problems.append(f"failed: {request.method} {request.url} ({request.failure})")
