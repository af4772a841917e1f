"""The player's journey in headless Chromium against a real daphne server (HTTP and WebSockets):
sign up, bet on an open race, watch the horses move on live frames, see the result after
settlement; and the stock page draws its chart. Screenshots go to test-artifacts/."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.db import connection

from tests.support import factories, processes
from tests.web.browser import CHROMIUM, shot, write_quotes

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: run ./scripts/install_browser.sh"),
]

SYMBOLS = {"AAPL": 228.0, "MSFT": 415.0, "NVDA": 135.0}
DESKTOP = {"width": 1366, "height": 900}


# Each horse's place on its lane (the --t the track script sets from the frames).
HORSES = ("Object.fromEntries([...document.querySelectorAll('#track .lane')].map("
          "lane => [lane.dataset.symbol, lane.querySelector('[data-horse]').style.getPropertyValue('--t')]))")
HORSES_JS = f"() => {HORSES}"
HORSES_MOVED_JS = f"(before) => {{ const now = {HORSES}; return Object.keys(now).some(s => now[s] !== before[s]); }}"


def test_new_player_bets_watches_the_race_and_sees_the_result(server, browser, transactional_db):
    from apps.bets.models import Bet
    from apps.market.services import stock_upsert_demo_universe
    from apps.races import lifecycle
    from apps.races.models import Race
    from apps.races.settlement import race_settle

    stock_upsert_demo_universe()
    write_quotes(SYMBOLS)
    # Redis pub/sub channels are shared by every Redis database: a race id no other suite running
    # on this machine uses keeps its room's frames to this test.
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('races_race', 'id'), %s)",
                       [random.randint(10**6, 10**9)])
    race = factories.RaceFactory(state=Race.State.SCHEDULED, title="Browser Sprint", theme="tech",
                                 symbols=list(SYMBOLS), starts_in=timedelta(minutes=2), window=timedelta(minutes=4))
    assert lifecycle.race_open(race_id=race.pk)

    page = browser.new_page(viewport=DESKTOP)
    page.set_default_timeout(15_000)
    try:
        page.goto(f"{server.url}/signup/")
        page.fill("input[name=username]", "rookie")
        page.fill("input[name=password]", "tr1cky-Passphrase")
        page.click("main form button[type=submit]")
        page.wait_for_url(f"{server.url}/")
        from apps.points.models import PointsAccount

        balance = PointsAccount.objects.get(user__username="rookie").balance  # sign-up (and daily) bonus
        assert f"{balance:,}" in page.inner_text("#balance")

        with page.expect_response(lambda r: "/lobby/races/" in r.url and r.status == 200, timeout=10_000):
            pass  # the lobby refreshes itself by polling its races partial
        page.click(f".race-card a[href='/races/{race.pk}/']")
        page.wait_for_selector("#bet-panel form")
        page.click("label.tile:has(input[value=AAPL])")
        page.fill("input[name=stake]", "50")
        page.wait_for_selector("#bet-preview .preview-payout")
        page.click("#bet-panel button[type=submit]")
        confirmed = page.wait_for_selector(".bet-confirmed")
        assert "Bet placed!" in confirmed.inner_text() and "AAPL" in confirmed.inner_text()
        page.wait_for_selector("#my-bets .bet-row")
        page.wait_for_function(f"document.getElementById('balance').innerText.includes('{balance - 50:,}')")
        bet = Bet.objects.get(user__username="rookie")
        assert (bet.kind, bet.symbol, bet.stake) == ("winner", "AAPL", 50)
        page.wait_for_selector(".toast:has-text('Bet confirmed')")
        shot(page, "browser-1-bet-placed")

        # A bet the rules refuse (over the per-race cap) shows the reason in place (a 4xx swapped by htmx).
        page.click("label.tile:has(input[value=MSFT])")
        page.fill("input[name=stake]", "10000")
        page.click("#bet-panel button[type=submit]")
        refusal = page.wait_for_selector("#bet-panel .form-error")
        assert "Bet refused" in refusal.inner_text() and "at most" in refusal.inner_text()
        assert Bet.objects.filter(user__username="rookie").count() == 1

        # The start: opening prices locked; the room tells the page, which swaps in the running state.
        assert lifecycle.race_start(race_id=race.pk, now=race.starts_at)
        page.wait_for_selector("#race-head[data-state=running]")
        # Quotes go stale after 3 s here, so the stale marker shows once the test stops writing them.
        engine = processes.race_engine(MARKET_DATA_STALE_SECONDS=3)
        try:
            page.wait_for_function("Number(document.getElementById('track').dataset.seq || -1) >= 1", timeout=20_000)
            before = page.evaluate(HORSES_JS)
            write_quotes({"AAPL": 231.5, "MSFT": 411.0, "NVDA": 135.4})
            page.wait_for_function(HORSES_MOVED_JS, arg=before)
            # NVDA (+0.3%) passed MSFT (-0.96%): its lane flashes the overtake.
            page.wait_for_selector("#track .lane[data-symbol=NVDA].overtake", timeout=3_000)
            page.wait_for_timeout(1_200)  # let the CSS transition finish for the screenshot
            after = page.evaluate(HORSES_JS)
            assert after != before
            assert page.get_attribute("#track .lane[data-symbol=AAPL]", "data-rank") == "1"
            assert page.inner_text("#track .lane[data-symbol=AAPL] [data-pct-label]").startswith("+1.5")
            shot(page, "browser-2-race-running")
            page.wait_for_selector("#track [data-stale-flag]:not([hidden])")
            assert page.locator("#track .lane.is-stale").count() == len(SYMBOLS)
        finally:
            engine.stop()

        # Toasts fade after a few seconds: keep every title shown from here on.
        page.evaluate("""() => { window.toastTitles = [];
            new MutationObserver(() => document.querySelectorAll('#toasts .toast-title').forEach(t => {
                if (!t.dataset.seen) { t.dataset.seen = '1'; window.toastTitles.push(t.parentNode.innerText); } }))
            .observe(document.getElementById('toasts'), {childList: true}); }""")
        # The end: closing prices, then settlement (eager here, or run directly if it was not enqueued).
        assert lifecycle.race_finish(race_id=race.pk, now=race.ends_at)
        race.refresh_from_db()
        if race.state != Race.State.COMPLETED:
            race_settle(race_id=race.pk)
        results = page.wait_for_selector("#race-results:not([hidden])", timeout=20_000)
        text = results.inner_text()
        assert "Final order" in text and "Your result" in text and "Race leaderboard" in text
        assert "rookie" in text
        bet.refresh_from_db()
        assert bet.status == Bet.Status.WON and bet.payout > 0
        assert f"+{bet.payout - bet.stake:,} pts" in text
        shot(page, "browser-3-race-settled")

        # Settlement queued the badge evaluation: the winner's first badges pop up as toasts and
        # take their place in the profile's showcase.
        from apps.badges.models import Badge

        first_win = Badge.objects.get(code="first_win")
        page.wait_for_function("(name) => window.toastTitles.some(t => t.includes('Badge unlocked') && t.includes(name))",
                               arg=first_win.name, timeout=10_000)
        page.goto(f"{server.url}/u/rookie/")
        earned = page.inner_text("li.badge[data-badge=first_win]")
        assert first_win.name in earned and "Earned" in earned
        assert page.locator("li.badge.locked[data-badge=jackpot]").count() == 1
        shot(page, "browser-4-badges")
    finally:
        page.close()


def test_stock_page_draws_a_chart(server, browser, transactional_db):
    from apps.core.redis import redis_now
    from apps.market.models import Candle, Stock
    from apps.market.services import stock_upsert_demo_universe

    stock_upsert_demo_universe()
    stock = Stock.objects.get(symbol="AAPL")
    now = redis_now().replace(second=0, microsecond=0)
    last = now - timedelta(minutes=now.minute % 15)
    candles, price = [], 220.0
    for i in range(120, 0, -1):
        start = last - timedelta(minutes=15 * i)
        close = price + (1.2 if i % 3 else -1.6)
        candles.append(Candle(stock=stock, interval="15m", start=start, open=price, high=max(price, close) + 0.4,
                              low=min(price, close) - 0.4, close=close, volume=10_000 + i,
                              open_ts=start, close_ts=start + timedelta(minutes=14)))
        price = close
    Candle.objects.bulk_create(candles)
    write_quotes({"AAPL": price})

    page = browser.new_page(viewport=DESKTOP)
    page.set_default_timeout(15_000)
    try:
        page.goto(f"{server.url}/stocks/AAPL/")
        page.wait_for_selector("#chart canvas")
        page.wait_for_function("document.querySelector('[data-chart-status]').innerText.includes('120 15m candles')")
        # Count pixels in the candles' colours on the chart's canvases: a drawn chart has many.
        coloured = page.evaluate("""() => {
            let n = 0;
            for (const canvas of document.querySelectorAll('#chart canvas')) {
                if (!canvas.width || !canvas.height) continue;
                const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
                for (let i = 0; i < data.length; i += 4) {
                    const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
                    if ((Math.abs(r - 52) < 30 && Math.abs(g - 211) < 30 && Math.abs(b - 153) < 30) ||
                        (Math.abs(r - 251) < 30 && Math.abs(g - 113) < 30 && Math.abs(b - 133) < 30)) n++;
                }
            }
            return n;
        }""")
        assert coloured > 500
        # The live ticker follows /ws/quotes/: a new quote shows up without a reload.
        page.wait_for_function("document.querySelector('[data-quote-meta]').innerText.includes('bid')")
        write_quotes({"AAPL": 123.45})
        page.wait_for_function("document.querySelector('[data-quote-price]').innerText === '123.45'")
        page.click("[data-interval='1d']")
        page.wait_for_function("document.querySelector('[data-chart-status]').innerText.includes('1d')")
        page.click("[data-interval='15m']")
        page.click("[data-type=line]")
        page.wait_for_function("document.querySelector('[data-chart-status]').innerText.includes('closing prices')")
        shot(page, "browser-4-stock-chart")
    finally:
        page.close()
