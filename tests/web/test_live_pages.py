"""What a newcomer trips on, in headless Chromium against a real daphne server: the lobby races
only stocks the feed carries; a spectator's race page follows every state without a reload; one
"Race started" toast per race; the stock chart opens on data, dates its daily axis and says
when an indicator lacks data; the admin form refuses a start in the past in the staff's zone;
and a session over every page logs no console error and no failed request."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.db import connection

from tests.support import factories
from tests.web.browser import CHROMIUM, PageLog, shot, write_quotes

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: run ./scripts/install_browser.sh"),
]
DESKTOP = {"width": 1366, "height": 900}
RACE = {"AAPL": 228.0, "MSFT": 415.0, "NVDA": 135.0}
# Toast titles as they appear (toasts fade after a few seconds).
WATCH_TOASTS = """() => { window.toastTitles = [];
    new MutationObserver(() => document.querySelectorAll('#toasts .toast-title').forEach(t => {
        if (!t.dataset.seen) { t.dataset.seen = '1'; window.toastTitles.push(t.innerText); } }))
    .observe(document.getElementById('toasts'), {childList: true}); }"""


@pytest.fixture
def universe(transactional_db):
    """The demo stocks, every one quoted, and race ids no other suite on this machine uses (Redis
    pub/sub channels are server-wide)."""
    from apps.market.models import Stock
    from apps.market.services import stock_upsert_demo_universe

    stock_upsert_demo_universe()
    write_quotes({s: 100.0 for s in Stock.objects.values_list("symbol", flat=True)} | RACE)
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('races_race', 'id'), %s)", [random.randint(10**6, 10**9)])


def login(page, server, user) -> None:
    page.goto(f"{server.url}/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", factories.PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{server.url}/")


def race(*, opens_in: float = 60, title: str = "Browser Sprint"):
    """A scheduled tech sprint on RACE whose betting opens in ``opens_in`` seconds (2 minutes' window)."""
    from apps.races.models import Race

    return factories.RaceFactory(state=Race.State.SCHEDULED, title=title, theme="tech", symbols=list(RACE),
                                 starts_in=timedelta(seconds=opens_in + 120), window=timedelta(seconds=120))


def test_the_lobby_never_races_a_symbol_without_a_feed(server, browser, universe, tmp_path, settings):
    from django.core.management import call_command

    from apps.races.generation import lobby_fill
    from apps.races.models import RaceEntry

    # History for a symbol the feed does not carry: import_bars adds it (no sector, no quote).
    bars = tmp_path / "GLD_daily.csv"
    bars.write_text("date,open,high,low,close,volume\n" + "".join(
        f"2019-02-{day:02d},120,121,119,{120 + day / 10},1000\n" for day in (11, 12, 13, 14, 15)))
    call_command("import_bars", str(bars), "--no-progress")
    settings.RACE_LOBBY_TARGET = 12
    assert len(lobby_fill(rng=random.Random(11))) == 12
    assert not RaceEntry.objects.filter(stock__symbol="GLD").exists()

    page = browser.new_page(viewport=DESKTOP)
    log = PageLog(page)
    try:
        page.goto(f"{server.url}/")
        tickers = page.locator(".race-card .ticker").all_inner_texts()
        assert tickers and "GLD" not in {t.strip("★ ") for t in tickers}
        assert all(t.strip() for t in page.locator(".race-card .pill-theme").all_inner_texts())
        assert not page.locator(".race-card .race-title", has_text=" · ").filter(has_text=r"^.* · $").count()
        options = [o.strip() for o in page.locator("select[name=theme] option").all_inner_texts()]
        assert options[0] == "Any theme" and all(o and o.endswith(")") for o in options[1:])
        assert len(options) == len(set(options))
        shot(page, "newcomer-1-lobby")
        page.goto(f"{server.url}/stocks/GLD/")
        assert page.inner_text(".crumbs").strip() == "Stocks"
        assert "the live feed does not carry GLD" in page.inner_text("[data-quote-meta]")
        assert log.problems == []
    finally:
        page.close()


def test_a_spectator_sees_every_state_without_a_reload(server, browser, universe):
    from apps.races import lifecycle
    from apps.races.settlement import race_settle

    bettor = factories.UserFactory(username="bettor")
    sprint = race(opens_in=30)
    page = browser.new_page(viewport=DESKTOP)
    page.set_default_timeout(15_000)
    log = PageLog(page)
    try:
        page.goto(f"{server.url}/races/{sprint.pk}/")
        page.evaluate("() => { window.sameDocument = true; }")
        assert page.get_attribute("#race-head", "data-state") == "scheduled"
        assert "Betting opens soon" in page.inner_text("#bet-panel")
        assert page.locator("#race-field").is_hidden()

        assert lifecycle.race_open(race_id=sprint.pk, now=sprint.betting_opens_at)
        page.wait_for_selector("#bet-panel:has-text('Betting is open')")
        assert page.locator("#bet-panel .odds-table td.num:has-text('×')").count() == len(RACE)
        assert page.get_attribute("#race-head", "data-state") == "open"
        factories.BetFactory(race=sprint, user=bettor, symbol="AAPL", stake=50, odds="2.5")

        assert lifecycle.race_start(race_id=sprint.pk, now=sprint.starts_at)
        page.wait_for_selector("#race-field .field-table")
        assert page.get_attribute("#race-head", "data-state") == "running"
        assert "Bets closed at the start" in page.inner_text("#bet-panel")

        write_quotes({"AAPL": 231.0, "MSFT": 410.0, "NVDA": 136.0})
        assert lifecycle.race_finish(race_id=sprint.pk, now=sprint.ends_at)
        page.wait_for_selector("#race-results [data-final-order] li.finish >> nth=2")
        assert page.locator("#race-results [data-final-order] .ticker").all_inner_texts() == ["AAPL", "NVDA", "MSFT"]
        # The horses stand where they finished.
        page.wait_for_function("() => document.querySelector('#track .lane[data-symbol=NVDA]').dataset.rank === '2'")
        assert page.inner_text("#track .lane[data-symbol=AAPL] [data-pct-label]") == "+1.32%"
        assert "close" in page.inner_text("#race-field thead").lower()
        assert "winner pays" not in page.inner_text("#race-field").lower()

        race_settle(race_id=sprint.pk)
        page.wait_for_selector("#race-results [data-race-board] table:has-text('bettor')")
        assert page.get_attribute("#race-head", "data-state") == "completed"
        assert "Bets closed at the start" not in page.inner_text("#bet-panel")
        assert page.inner_text("#track [data-conn]") == "final"
        assert page.evaluate("() => window.sameDocument === true")  # never reloaded
        shot(page, "newcomer-2-spectator-settled")
        assert log.problems == []
    finally:
        page.close()


def test_a_cancelled_race_says_so_with_its_reason(server, browser, universe):
    from apps.races import lifecycle

    sprint = race(opens_in=-10)
    assert lifecycle.race_open(race_id=sprint.pk)
    page = browser.new_page(viewport=DESKTOP)
    page.set_default_timeout(15_000)
    try:
        page.goto(f"{server.url}/races/{sprint.pk}/")
        page.wait_for_selector("#track [data-conn]:has-text('waiting for the start')")
        assert lifecycle.race_cancel(race_id=sprint.pk, cause="no opening price for GLD")
        notice = page.wait_for_selector("#race-results .race-cancelled")
        assert "This race was cancelled: no opening price for GLD" in notice.inner_text()
        assert page.inner_text("#track [data-conn]") == "cancelled"
        assert page.get_attribute("#race-head", "data-state") == "cancelled"
    finally:
        page.close()


def test_one_race_started_toast_per_race_and_none_on_its_page(server, browser, universe, settings):
    from apps.races import lifecycle

    player = factories.UserFactory(username="fivebets")
    sprint = race(opens_in=-10, title="Five-bet Sprint")
    assert lifecycle.race_open(race_id=sprint.pk)
    for symbol in ("AAPL", "MSFT", "NVDA", "AAPL", "MSFT"):
        factories.BetFactory(race=sprint, user=player, symbol=symbol, stake=10)
    context = browser.new_context(viewport=DESKTOP)
    try:
        away = context.new_page()
        login(away, server, player)
        away.goto(f"{server.url}/leaderboards/")
        on_race = context.new_page()
        on_race.goto(f"{server.url}/races/{sprint.pk}/")
        for page in (away, on_race):
            page.wait_for_function("() => document.getElementById('toasts') !== null")
            page.evaluate(WATCH_TOASTS)
        away.wait_for_timeout(1_000)  # both pages' /ws/me/ sockets are open

        assert lifecycle.race_start(race_id=sprint.pk, now=sprint.starts_at)
        away.wait_for_function("() => window.toastTitles.includes('Race started')", timeout=10_000)
        on_race.wait_for_selector("#race-head[data-state=running]")
        away.wait_for_timeout(2_000)  # time for any duplicate to arrive
        assert away.evaluate("() => window.toastTitles.filter(t => t === 'Race started').length") == 1
        assert on_race.evaluate("() => window.toastTitles.filter(t => t === 'Race started').length") == 0
        shot(away, "newcomer-3-race-started-toast")
    finally:
        context.close()


def test_the_stock_chart_opens_on_data_dates_daily_axes_and_explains_missing_indicators(server, browser, universe):
    from apps.core.redis import redis_now
    from apps.market.models import Candle, Stock

    def candles(symbol: str, interval: str, step: timedelta, count: int, last) -> None:
        stock, price, rows = Stock.objects.get(symbol=symbol), 100.0, []
        for i in range(count, 0, -1):
            start = last - step * (i - 1)
            close = price + (0.8 if i % 3 else -1.1)
            rows.append(Candle(stock=stock, interval=interval, start=start, open=price, high=max(price, close) + .3,
                               low=min(price, close) - .3, close=close, volume=100, open_ts=start, close_ts=start))
            price = close
        Candle.objects.bulk_create(rows)

    now = redis_now().replace(second=0, microsecond=0)
    today_open = now.replace(hour=14, minute=30)
    # A fresh install: one daily candle (today's) and a quarter of an hour of minutes.
    candles("AAPL", "1d", timedelta(days=1), 1, today_open)
    candles("AAPL", "1m", timedelta(minutes=1), 12, now)
    # A stock with a daily history.
    candles("MSFT", "1d", timedelta(days=1), 80, today_open)

    page = browser.new_page(viewport=DESKTOP)
    page.set_default_timeout(15_000)
    log = PageLog(page)
    try:
        page.goto(f"{server.url}/stocks/AAPL/")
        page.wait_for_function("document.querySelector('[data-chart-status]').innerText.includes('12 1m candles')")
        assert page.get_attribute("[data-interval='1m']", "aria-pressed") == "true"
        assert page.evaluate("() => document.getElementById('chart').stockChart.options().timeScale.timeVisible")
        page.check("[data-indicator=rsi]")
        hint = page.wait_for_selector("[data-chart-hints]:has-text('Not enough data for RSI 14')")
        assert "needs 15 1m candles, this chart has 12" in hint.inner_text()
        assert page.locator("#chart-rsi").is_hidden()

        page.goto(f"{server.url}/stocks/MSFT/")
        page.wait_for_function("document.querySelector('[data-chart-status]').innerText.includes('80 1d candles')")
        assert page.get_attribute("[data-interval='1d']", "aria-pressed") == "true"
        # Daily candles are dated: no time of day on the axis.
        assert page.evaluate("() => document.getElementById('chart').stockChart.options().timeScale.timeVisible") is False
        page.check("[data-indicator=rsi]")
        page.wait_for_selector("#chart-rsi:not([hidden]) canvas")
        page.wait_for_function("() => document.querySelector('[data-chart-hints]').hidden")
        shot(page, "newcomer-4-chart-rsi")
        assert log.problems == []
    finally:
        page.close()


def test_the_admin_form_refuses_a_start_in_the_past_in_the_staff_zone(server, browser, universe):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_superuser("chief", "chief@example.com", factories.PASSWORD)
    context = browser.new_context(viewport=DESKTOP, timezone_id="Asia/Tokyo")
    page = context.new_page()
    log = PageLog(page)
    try:
        page.goto(f"{server.url}/admin/login/?next=/admin/races/race/create/")
        page.fill("input[name=username]", "chief")
        page.fill("input[name=password]", factories.PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#race-create")
        assert page.input_value("input[name=tz]") == "Asia/Tokyo"
        page.select_option("select[name=theme]", "tech")
        page.fill("input[name=starts_at]", "2020-01-02T09:00")
        page.click("#race-create input[type=submit]")
        error = page.wait_for_selector(".field-starts_at .errorlist")
        assert "That start is in the past: 2020-01-02 09:00 (Asia/Tokyo)" in error.inner_text()
        page.fill("input[name=starts_at]", "")
        page.fill("input[name=start_in_minutes]", "30")
        page.click("#race-create input[type=submit]")
        page.wait_for_selector(".messagelist .success")
        assert log.problems == []
    finally:
        context.close()


def _optional_pages() -> list[str]:
    """Pages of the apps other issues are adding (trading, prediction markets), when they exist."""
    from django.urls import NoReverseMatch, reverse

    found = []
    for name in ("trading_portfolio", "trading_orders", "trading_trades", "trading_returns", "markets",
                 "markets_leaderboard"):
        try:
            found.append(reverse(name))
        except NoReverseMatch:
            pass
    return found


def test_a_session_over_every_page_logs_no_console_error_and_no_failed_request(server, browser, universe):
    from django.contrib.auth import get_user_model

    from apps.market.models import Candle, Stock
    from apps.races import lifecycle
    from apps.races.models import Race

    player = factories.UserFactory(username="sweeper")
    get_user_model().objects.create_superuser("sweepstaff", "s@example.com", factories.PASSWORD)
    open_race = race(opens_in=-10, title="Sweep Sprint")
    assert lifecycle.race_open(race_id=open_race.pk)
    running = factories.RaceFactory(state="running", symbols=list(RACE), title="Sweep running")
    finished = factories.RaceFactory(state="completed", symbols=list(RACE), title="Sweep finished")
    factories.lock_results(finished, {"AAPL": 1.0, "MSFT": -0.5, "NVDA": 0.2})
    stock = Stock.objects.get(symbol="AAPL")
    start = finished.starts_at.replace(second=0, microsecond=0)
    Candle.objects.bulk_create(Candle(stock=stock, interval="1m", start=start - timedelta(minutes=i), open=100, high=101,
                                      low=99, close=100.5, volume=10, open_ts=start, close_ts=start) for i in range(30))
    extra = _optional_pages()

    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(15_000)
    log = PageLog(page)
    visited = []

    def visit(path: str, ready: str = "main") -> None:
        page.goto(f"{server.url}{path}")
        page.wait_for_selector(ready)
        page.wait_for_load_state("networkidle")
        visited.append(path)

    try:
        login(page, server, player)
        visit("/")
        visit(f"/races/{open_race.pk}/", "#bet-panel form")
        # A bet from the page: the button is disabled while the request is in flight.
        page.route(f"**/races/{open_race.pk}/bet/", lambda route: (page.wait_for_timeout(400), route.continue_()))
        page.click("label.tile:has(input[value=MSFT])")
        page.fill("input[name=stake]", "20")
        page.wait_for_selector("#bet-preview .preview-payout")
        page.click("#bet-panel button[type=submit]")
        page.wait_for_selector("#bet-panel button[type=submit][disabled]", timeout=2_000)
        page.wait_for_selector(".bet-confirmed")
        page.unroute(f"**/races/{open_race.pk}/bet/")
        visit(f"/races/{running.pk}/", "#race-field .field-table")
        visit(f"/races/{finished.pk}/", "#race-results:not([hidden])")
        visit("/stocks/")
        visit("/stocks/AAPL/", "#chart canvas")
        page.wait_for_function("document.querySelector('[data-chart-status]').innerText.includes('candles')")
        visit("/leaderboards/")
        page.click("a.tab:has-text('This week')")
        page.wait_for_selector("a.tab[aria-selected=true]:has-text('This week')")
        visit(f"/u/{player.username}/", "#badges-title")
        visit("/watchlist/")
        for path in extra:
            visit(path)
        page.click("button:has-text('Log out')")
        page.wait_for_load_state("networkidle")

        page.goto(f"{server.url}/admin/login/")
        page.fill("input[name=username]", "sweepstaff")
        page.fill("input[name=password]", factories.PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#content")
        for path in ("/admin/", "/admin/races/race/", f"/admin/races/race/{finished.pk}/change/",
                     "/admin/races/race/create/", "/admin/points/pointsaccount/", "/admin/points/ledgerentry/",
                     "/admin/leaderboards/leaderboardentry/", "/admin/market/stock/", "/api/docs/"):
            visit(path, "body")
        assert Race.objects.filter(pk=open_race.pk, bets__user=player).exists()
        assert log.problems == [], "\n".join(log.problems)
        assert len(visited) >= 16 + len(extra)
    finally:
        context.close()
