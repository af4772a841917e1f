"""With WebSockets blocked in the browser, the race page still shows every frame, in order, and
the toasts and the stock page's ticker still get their events: each falls back to Server-Sent
Events (apps/live/fallback.py, static/js/live_channel.js) by itself."""
from __future__ import annotations

import random
import re

import pytest
from django.db import connection

from tests.support import processes
from tests.web.browser import CHROMIUM, write_quotes

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: run ./scripts/install_browser.sh"),
]

SYMBOLS = {"AAPL": 228.0, "MSFT": 415.0, "NVDA": 135.0}
# Every frame the page's EventSource delivers (and every stream it opens), recorded before any page script runs.
RECORD_SSE = """
(() => {
  window.__frames = [];
  window.__streams = [];
  const Real = window.EventSource;
  window.EventSource = function (url, init) {
    const source = new Real(url, init);
    source.addEventListener("open", () => window.__streams.push(String(url)));
    source.addEventListener("message", e => { if (e.data.startsWith('{"type":"frame"')) window.__frames.push(e.data); });
    return source;
  };
  window.EventSource.prototype = Real.prototype;
})();
"""


def test_race_page_with_websockets_blocked_shows_every_frame_in_order(server, browser, transactional_db):
    from apps.core.redis import get_redis
    from apps.market.services import stock_upsert_demo_universe
    from tests.support import factories as f

    stock_upsert_demo_universe()
    write_quotes(SYMBOLS)
    with connection.cursor() as cursor:  # a race id no other suite on this Redis server uses
        cursor.execute("SELECT setval(pg_get_serial_sequence('races_race', 'id'), %s)",
                       [random.randint(10**6, 10**9)])
    race = f.RaceFactory(state="running", symbols=list(SYMBOLS), starts_in=None)
    engine = processes.race_engine(MARKET_DATA_STALE_SECONDS=30)
    page = browser.new_page()
    page.set_default_timeout(20_000)
    try:
        page.add_init_script(RECORD_SSE)
        page.route_web_socket(re.compile(r".*/ws/.*"), lambda ws: ws.close())  # every socket refused
        page.goto(f"{server.url}/races/{race.pk}/")
        page.wait_for_function("(document.getElementById('track') || {dataset: {}}).dataset.transport === 'sse'")
        page.wait_for_function("window.__frames.length >= 6", timeout=30_000)
        frames = page.evaluate("window.__frames")
        shown_seq = int(page.evaluate("document.getElementById('track').dataset.seq"))
    finally:
        page.close()
        engine.stop()
    seqs = [int(re.search(r'"seq":(\d+)', text).group(1)) for text in frames]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"frames missing or out of order: {seqs}"
    assert shown_seq >= seqs[-1] - 1, "the track did not draw the frames it received"
    last = get_redis().get(f"live:race:{race.pk}:last")
    last = last.decode() if isinstance(last, bytes) else last
    assert last in frames or int(re.search(r'"seq":(\d+)', last).group(1)) > seqs[-1]


def test_toasts_and_the_ticker_with_websockets_blocked_get_their_events_over_http(server, browser, transactional_db):
    from apps.core.events import user_event_publish
    from apps.market.services import stock_upsert_demo_universe
    from tests.support import factories as f
    from tests.web.test_live_pages import WATCH_TOASTS, login

    stock_upsert_demo_universe()
    write_quotes({"AAPL": 228.0})
    player = f.UserFactory(username=f"nows{random.randint(10**5, 10**6)}")
    page = browser.new_page()
    page.set_default_timeout(20_000)
    try:
        page.add_init_script(RECORD_SSE)
        page.route_web_socket(re.compile(r".*/ws/.*"), lambda ws: ws.close())  # every socket refused
        login(page, server, player)
        page.goto(f"{server.url}/stocks/AAPL/")
        page.evaluate(WATCH_TOASTS)
        page.wait_for_function("""window.__streams.some(u => u.includes('/live/me/events'))
                                  && window.__streams.some(u => u.includes('/live/quotes/events?symbols=AAPL'))""")
        write_quotes({"AAPL": 231.5})  # published to the quote channel, as the market-data worker does
        page.wait_for_function("document.querySelector('[data-quote-price]').innerText.includes('231.5')")
        user_event_publish(user_id=player.id, payload={"type": "alert", "title": "Over HTTP", "message": "still here"})
        page.wait_for_function("() => window.toastTitles.includes('Over HTTP')")
    finally:
        page.close()
