"""Headless Chromium for the browser tests: where it is, how it is started, and where the
screenshots go (the server and the race engine come from tests/support/processes)."""
from __future__ import annotations

import shutil

from tests.support.env import BASE_DIR

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = BASE_DIR / "test-artifacts"
