"""The trading floor inside the market-data worker: a quote-batch hook and its executor thread.

apps/feed knows nothing of trading: its worker calls the hooks named in QUOTE_BATCH_HOOKS with
every batch of quotes it has just written to Redis. ``quote_batch_hook`` builds ours:

- on the worker's thread (the hot path, bench/trading_triggers.py): show the batch to the lock
  detector, then one Redis round trip — any new locks, and the trigger script over the batch's
  symbols (index.CHECK_LUA) — and hand what it found to the executor. Nothing here touches
  PostgreSQL, so the feed never waits on a fill;
- on the ``trading-executor`` thread: mark stops triggered, fill triggered and crossed orders,
  buy in shorts (apps/trading/resting.py, each a conditional UPDATE and one transaction), lock
  symbols of newly recorded data gaps, rebuild the index from PostgreSQL at start and re-sync it
  every 30 s;
- on the ``trading-pusher`` thread: the live P&L of players with the portfolio open (push.py).

A killed worker loses nothing: an order is claimed and filled in one transaction, so a fill
either committed or never happened, and the restarted worker rebuilds the index from the
orders still resting in PostgreSQL.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from datetime import datetime, timedelta, timezone

import redis as redis_lib
from django.conf import settings
from django.db import connection

from apps.trading import index
from apps.trading.locks import LockDetector
from apps.trading.market import LockReason, lock_symbols, market_state
from apps.trading.rules import to_price

log = logging.getLogger("stockrace.trading")
SYNC_SECONDS = 30.0
GAP_CHECK_SECONDS = 1.0


def _reset_db() -> None:
    try:
        connection.close()  # a long-lived thread: drop a broken connection, the next query opens one
    except Exception:  # noqa: BLE001
        pass


class Executor:
    """Works off what the trigger script found, one task at a time, in arrival order (a stop's
    trigger is always handled before the fill it leads to)."""

    def __init__(self, client):
        self.client = client
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.inflight: set[tuple[str, int]] = set()
        self.guard = threading.Lock()
        self.thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self.idle = threading.Event()
        # Gaps detected before this are not locked again (at start: those older than a lock).
        self.gap_seen = datetime.now(timezone.utc) - timedelta(seconds=settings.TRADE_LOCK_SECONDS)
        self.last_sync = 0.0
        self.last_gap_check = 0.0
        self.synced_at: datetime | None = None
        self.done = {"triggered": 0, "filled": 0, "rejected": 0, "bought_in": 0}

    # ------------------------------------------------------------------ hand-over (worker thread)
    def submit(self, found: index.Candidates, last: dict[str, float]) -> None:
        triggers = [(order_id, to_price(last[symbol])) for symbol, order_id, _ in found.triggered]
        with self.guard:
            fills = [(s, i) for s, i in found.fills if ("f", i) not in self.inflight]
            buy_ins = [(s, i) for s, i in found.buy_ins if ("b", i) not in self.inflight]
            self.inflight.update(("f", i) for _, i in fills)
            self.inflight.update(("b", i) for _, i in buy_ins)
        if triggers or fills or buy_ins:
            self.idle.clear()
            self.queue.put((triggers, fills, buy_ins))

    # ------------------------------------------------------------------ the thread
    def start(self) -> None:
        self.thread = threading.Thread(target=self.run, name="trading-executor", daemon=True)
        self.thread.start()

    def run(self) -> None:
        self.startup()
        while not self.stopping.is_set():
            try:
                task = self.queue.get(timeout=0.25)
            except queue.Empty:
                task = None
                self.idle.set()
            if task is not None:
                self.work(*task)
            self.periodic()

    def startup(self) -> None:
        for attempt in range(30):
            try:
                self.synced_at = datetime.now(timezone.utc)
                counts = index.index_rebuild(self.client, maintenance_pct=settings.TRADE_SHORT_MAINTENANCE_PCT)
                log.info("trading: trigger index rebuilt from PostgreSQL (%(added)d entries, %(removed)d stray removed)",
                         counts)
                self.last_sync = time.monotonic()
                return
            except Exception:  # noqa: BLE001 - PostgreSQL or Redis not there yet: try again
                log.exception("trading: could not rebuild the trigger index (attempt %d)", attempt + 1)
                _reset_db()
                self.stopping.wait(min(2 ** attempt, 10))

    def work(self, triggers, fills, buy_ins) -> None:
        from apps.trading.resting import Outcome, resting_fill, short_buy_in, stops_trigger

        if triggers:
            try:
                self.done["triggered"] += len(stops_trigger(triggered=triggers, client=self.client))
            except Exception:  # noqa: BLE001 - they are back in the index at the next sync
                log.exception("trading: %d stops not marked triggered", len(triggers))
                _reset_db()
        if fills or buy_ins:
            # A gap recorded a moment ago (the worker's own restart, say) locks its symbols before
            # anything fills at the first prices after it.
            self._check_gaps(min_interval=0.2)
        states: dict = {}
        for kind, items, run in (("f", fills, resting_fill), ("b", buy_ins, short_buy_in)):
            for symbol, item_id in items:
                try:
                    state = states.get(symbol) or states.setdefault(symbol, market_state(symbol, self.client))
                    if kind == "f":
                        outcome = run(order_id=item_id, symbol=symbol, client=self.client, state=state)
                    else:
                        outcome = run(position_id=item_id, symbol=symbol, client=self.client, state=state)
                    if outcome is Outcome.FILLED:
                        self.done["bought_in" if kind == "b" else "filled"] += 1
                    elif outcome is Outcome.REJECTED:
                        self.done["rejected"] += 1
                except Exception:  # noqa: BLE001 - one bad order must not stop the others
                    log.exception("trading: %s %s on %s failed", "buy-in" if kind == "b" else "fill", item_id, symbol)
                    _reset_db()
                finally:
                    with self.guard:
                        self.inflight.discard((kind, item_id))

    def _check_gaps(self, *, min_interval: float) -> None:
        now = time.monotonic()
        if now - self.last_gap_check < min_interval:
            return
        self.last_gap_check = now
        try:
            self.lock_gaps()
        except Exception:  # noqa: BLE001
            log.exception("trading: could not check the data gaps")
            _reset_db()

    def periodic(self) -> None:
        self._check_gaps(min_interval=GAP_CHECK_SECONDS)
        now = time.monotonic()
        if now - self.last_sync >= SYNC_SECONDS:
            self.last_sync = now
            try:
                since = (self.synced_at or datetime.now(timezone.utc)) - timedelta(seconds=5)
                self.synced_at = datetime.now(timezone.utc)
                index.index_sync(self.client, since=since, maintenance_pct=settings.TRADE_SHORT_MAINTENANCE_PCT)
            except Exception:  # noqa: BLE001
                log.exception("trading: trigger index sync failed")
                _reset_db()

    def lock_gaps(self) -> None:
        """A data gap the worker recorded (after a disconnect, a silence or its own restart)
        locks its symbols until TRADE_LOCK_SECONDS after it was detected."""
        from apps.feed.models import DataGap
        from apps.market.models import Stock

        gaps = list(DataGap.objects.filter(detected_at__gt=self.gap_seen).order_by("detected_at"))
        if not gaps:
            return
        self.gap_seen = gaps[-1].detected_at
        now = time.time()
        listed = None
        pipe = self.client.pipeline(transaction=False)
        for gap in gaps:
            remaining = gap.detected_at.timestamp() + settings.TRADE_LOCK_SECONDS - now
            if remaining <= 0:
                continue
            symbols = gap.symbols
            if not symbols:
                if listed is None:
                    listed = list(Stock.objects.filter(is_active=True).values_list("symbol", flat=True))
                symbols = listed
            lock_symbols(self.client, symbols, reason=LockReason.GAP, now=now, seconds=max(1, round(remaining)),
                         pipe=pipe)
            log.warning("trading: %d symbols locked for %.0f s after a data gap of %.1f s (%s)", len(symbols),
                        remaining, (gap.end - gap.start).total_seconds(), gap.reason)
        pipe.execute()


class TriggerHook:
    """Called by the market-data worker with each batch of quotes it has written."""

    def __init__(self, *, redis, executor: Executor | None = None, detector: LockDetector | None = None):
        self.redis = redis
        self.executor = executor or Executor(redis)
        self.detector = detector or LockDetector(jump_pct=settings.TRADE_LOCK_JUMP_PCT,
                                                 window_seconds=settings.TRADE_LOCK_WINDOW_SECONDS,
                                                 stale_seconds=settings.MARKET_DATA_STALE_SECONDS)
        self.checker = index.Checker()
        self.pusher = None

    def start(self, *, push: bool = True) -> "TriggerHook":
        self.executor.start()
        if push:
            from apps.trading.push import PortfolioPusher

            self.pusher = PortfolioPusher(self.redis)
            self.pusher.start()
        return self

    def __call__(self, quotes) -> index.Candidates:
        new_locks = self.detector.observe(quotes)
        args = self.checker.args(quotes)
        if new_locks:
            flat = self._lock_and_check(new_locks, quotes, args)
        else:
            flat = index.run_check(self.redis, args)
        found, refreshed = self.checker.parse(flat) if flat else (index.Candidates([], [], []), set())
        found = self.checker.check_again(self.redis, quotes, found, refreshed)
        if found:
            self.executor.submit(found, {q.symbol: q.price for q in quotes})
        return found

    def _lock_and_check(self, new_locks, quotes, args) -> list:
        now = max(q.recv for q in quotes)
        for _ in range(2):
            pipe = self.redis.pipeline(transaction=False)
            for symbol, reason in new_locks:
                lock_symbols(self.redis, [symbol], reason=reason, now=now, pipe=pipe)
            pipe.evalsha(index.CHECK_SHA, 0, *args)
            try:
                flat = pipe.execute()[-1]
                break
            except redis_lib.exceptions.NoScriptError:
                self.redis.script_load(index.CHECK_LUA)
        else:  # pragma: no cover - the script was just loaded
            flat = []
        for symbol, reason in new_locks:
            log.warning("trading: %s locked for %d s (%s)", symbol, settings.TRADE_LOCK_SECONDS, reason)
        return flat


def quote_batch_hook(*, redis) -> TriggerHook:
    """The QUOTE_BATCH_HOOKS factory: the hook, with its executor and pusher threads running."""
    redis.script_load(index.CHECK_LUA)
    return TriggerHook(redis=redis).start()

