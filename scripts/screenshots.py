#!/usr/bin/env python3
"""Screenshots of the lobby, a running race and a stock page at phone and desktop widths.

Run against a running stack (`make run` in another terminal):

    .venv/bin/python scripts/screenshots.py [--base-url http://127.0.0.1:8000] [--out docs/screenshots]

It logs in as a demo player, picks a running race from the lobby (an open one if none runs),
waits for live frames and for the chart to draw, and writes small PNGs (viewport only,
quantised to a palette). Uses Debian's chromium through Playwright; never downloads a browser.
"""
from __future__ import annotations

import argparse
import io
import shutil
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        sys.exit("chromium is not installed: run ./scripts/install_browser.sh (apt-get install chromium)")
    return path


def save_small(png: bytes, path: Path) -> None:
    """Quantise to a 256-colour palette: the dark UI survives it and the file shrinks several times."""
    try:
        from PIL import Image
    except ImportError:
        path.write_bytes(png)
        return
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def wait_ready(base_url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"{base_url}/healthz", timeout=5)
            return
        except urllib.error.HTTPError:
            return  # it answers, even if a worker is missing
        except OSError:
            if time.monotonic() > deadline:
                sys.exit(f"nothing answers at {base_url}: start the stack first (make run)")
            time.sleep(0.5)


def pick_race(page, base_url: str) -> str | None:
    """A running race with a few minutes still to go (an open one if none runs)."""
    page.goto(f"{base_url}/")
    href = page.evaluate("""() => {
        for (const card of document.querySelectorAll('.race-card.state-running')) {
            const clock = card.querySelector('[data-countdown]');
            if (clock && Date.parse(clock.dataset.countdown) - Date.now() > 120000) return card.querySelector('a').getAttribute('href');
        }
        return null;
    }""")
    if href:
        return href
    for selector in (".race-card.state-running a", ".race-card.state-open a", ".race-card a"):
        link = page.query_selector(selector)
        if link:
            return link.get_attribute("href")
    return None


def shoot(base_url: str, out: Path, username: str, password: str, symbol: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    wait_ready(base_url)
    written = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        for name, viewport in VIEWPORTS.items():
            context = browser.new_context(viewport=viewport, device_scale_factor=1)
            page = context.new_page()
            page.goto(f"{base_url}/login/")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", password)
            page.click("form button[type=submit]")
            page.wait_for_url(f"{base_url}/")

            page.wait_for_selector("#lobby-races")
            page.wait_for_timeout(500)
            written.append(out / f"lobby-{name}.png")
            save_small(page.screenshot(), written[-1])

            race = pick_race(page, base_url)
            if race:
                page.goto(f"{base_url}{race}")
                try:  # a running race: wait for a few live frames so the horses have moved
                    page.wait_for_function("Number(document.getElementById('track').dataset.seq || -1) >= 0",
                                           timeout=10_000)
                    page.wait_for_timeout(3_000)
                except Exception:  # noqa: BLE001 - an open race has no frames yet; shoot it as it is
                    pass
                page.evaluate("window.scrollTo(0, document.getElementById('track').getBoundingClientRect().top + window.scrollY - 100)"
                              if name == "phone" else "window.scrollTo(0, 0)")
                written.append(out / f"race-{name}.png")
                save_small(page.screenshot(), written[-1])

            page.goto(f"{base_url}/stocks/{symbol}/")
            try:
                page.wait_for_selector("#chart canvas", timeout=10_000)
                page.wait_for_timeout(1_500)
            except Exception:  # noqa: BLE001 - shoot whatever is there; the status line says why
                pass
            written.append(out / f"stock-{name}.png")
            save_small(page.screenshot(), written[-1])
            context.close()
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--user", default="alice")
    parser.add_argument("--password", default="alice-demo-pass")
    parser.add_argument("--symbol", default="AAPL")
    args = parser.parse_args()
    for path in shoot(args.base_url.rstrip("/"), args.out, args.user, args.password, args.symbol):
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
