"""The market-data worker's connection loop: one persistent WebSocket to the provider.

Connect, authenticate and subscribe; read frames and hand them to the Ingestor; flush to
Redis and PostgreSQL as due; every second mark stale quotes, refresh the symbols of active
races and check the connection is alive (pings). On a drop or a silence, the provider time
of the last tick opens a gap; the first tick after closes it, and the gap is backfilled from
the provider's REST history before that tick is applied, then recorded as a DataGap.
Reconnects back off exponentially with jitter.
"""
from __future__ import annotations

import logging
import random
import select
import threading
import time

import websocket
from django.conf import settings

from apps.core.redis import redis_now_ts
from apps.feed.backfill import backfill_gap
from apps.feed.ingest import DB_FLUSH_SECONDS, Ingestor, new_york_day, reset_db_connection
from apps.feed.models import DataGap
from apps.providers.base import MarketDataProvider, ProviderError
from apps.feed.selectors import active_symbols as registered_active_symbols
from apps.feed.services import datagap_record
from apps.market.quotes import FEED_KEY, read_quotes

log = logging.getLogger("stockrace.market-data")

BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 30.0
HOUSEKEEPING_SECONDS = 1.0
ACTIVE_REFRESH_SECONDS = 2.0
LISTED_REFRESH_SECONDS = 60.0
CLOCK_REFRESH_SECONDS = 60.0
PING_SECONDS = 5.0
MAX_RESUME_GAP_SECONDS = 6 * 3600  # a previous run's last tick older than this opens no gap
RECV_TIMEOUT_SECONDS = 0.25


def backoff_delay(attempt: int, rng: random.Random = random) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, capped."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** attempt)
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


class ConnectionDead(Exception):
    pass


class FeedWorker:
    def __init__(self, *, provider: MarketDataProvider, redis, stopping: threading.Event, candles=None,
                 symbols: list[str] | None = None, active_symbols=registered_active_symbols, listed_symbols=None,
                 quote_hooks: list | None = None):
        self.provider = provider
        self.active_symbols = active_symbols  # () -> set of symbols snapshotted every second
        self.redis = redis
        self.stopping = stopping
        # The simulator streams every symbol it lists; real providers get our stock list, and
        # stocks a symbol sync lists later are subscribed within LISTED_REFRESH_SECONDS.
        self.symbols = symbols
        self.listed_symbols = listed_symbols  # () -> list of symbols, or None
        self.ingestor = Ingestor(provider=provider, redis=redis, candles=candles, clock_offset=self._clock_offset(),
                                 quote_hooks=quote_hooks)
        self.connected = False
        self.gap_from: float | None = None
        self.gap_reason = DataGap.Reason.DISCONNECT
        self.attempt = 0
        self.connections = 0
        self._last_housekeeping = self._last_active = self._last_clock = 0.0
        self._last_listed = time.monotonic()
        self._last_frame = self._last_data = self._last_ping = time.monotonic()

    # ------------------------------------------------------------------ setup
    def _clock_offset(self) -> float:
        try:
            return redis_now_ts(self.redis) - time.time()
        except Exception:
            return 0.0

    def resume(self, symbols: list[str]) -> None:
        """Start from the quotes a previous run left in Redis: day volumes go on, and the time
        this worker was down becomes a gap to backfill."""
        ingestor = self.ingestor
        for symbol, quote in read_quotes(self.redis, symbols).items():
            day_start, _ = new_york_day(quote.ts or 0)
            ingestor.book[symbol] = [quote.price, quote.bid, quote.ask, quote.volume, quote.ts, quote.recv, day_start]
        last_ts = self.redis.hget(FEED_KEY, "last_ts")
        if last_ts and time.time() - float(last_ts) < MAX_RESUME_GAP_SECONDS:
            self.gap_from = float(last_ts)
            ingestor.last_ts = float(last_ts)
            ingestor.grid.start(float(last_ts))

    def refresh_active(self) -> None:
        """Symbols of open or running races: their snapshots are taken every second."""
        try:
            self.ingestor.grid.active = set(self.active_symbols())
        except Exception as exc:
            log.warning("could not read the active races: %s", exc)
            reset_db_connection()
        self._last_active = time.monotonic()

    def subscribe_new(self, ws) -> list[str]:
        """Subscribe the open stream to stocks listed since it was opened."""
        self._last_listed = time.monotonic()
        try:
            listed = list(self.listed_symbols())
        except Exception as exc:
            log.warning("could not read the listed stocks: %s", exc)
            reset_db_connection()
            return []
        new = sorted(set(listed) - set(self.symbols or []))
        if new:
            for message in self.provider.subscribe_messages(new):
                ws.send(message)
            self.symbols = sorted(set(self.symbols or []) | set(new))
            log.info("subscribed %d newly listed symbols: %s", len(new), ", ".join(new[:20]))
        return new

    def warm_up(self) -> None:
        """Before data flows: the active races (so their first snapshots are on the fast grid)
        and what the first candle flush needs (the exchange calendar, seconds to load)."""
        self.refresh_active()
        if self.ingestor.candles is None:
            return
        try:
            from apps.market.sessions import session_table

            session_table()
        except Exception as exc:
            log.warning("could not load the exchange calendar ahead: %s", exc)

    # ------------------------------------------------------------------ loop
    def run(self) -> None:
        self.warm_up()
        while not self.stopping.is_set():
            ws = None
            got_data = False
            try:
                ws = self.connect()
                got_data = self.read_loop(ws)
            except (websocket.WebSocketException, OSError, ConnectionDead, ProviderError) as exc:
                log.warning("feed connection to %s lost: %s", self.provider.name, exc or type(exc).__name__)
            except Exception:  # Redis or PostgreSQL away, or a bug: reconnect rather than die
                log.exception("market-data loop failed; reconnecting")
            finally:
                self.on_disconnect(ws)
            if self.stopping.is_set():
                break
            if got_data:
                self.attempt = 0
            delay = backoff_delay(self.attempt)
            self.attempt += 1
            log.warning("reconnecting to %s in %.2f s (attempt %d, exponential backoff with jitter)",
                        self.provider.name, delay, self.attempt)
            self.wait_offline(delay)

    def wait_offline(self, delay: float) -> None:
        """Sleep through a backoff, still marking quotes stale and keeping the feed state fresh."""
        deadline = time.monotonic() + delay
        while not self.stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self.stopping.wait(min(remaining, HOUSEKEEPING_SECONDS))
            try:
                self.ingestor.mark_stale(time.time() + self.ingestor.clock_offset, settings.MARKET_DATA_STALE_SECONDS)
                self.ingestor.flush_redis(connected=False)
            except Exception as exc:
                log.warning("could not update Redis while offline: %s", exc)

    def connect(self) -> websocket.WebSocket:
        url = self.provider.ws_url()
        ws = websocket.create_connection(url, timeout=10, header=self.provider.ws_headers(),
                                         enable_multithread=False, skip_utf8_validation=True)
        symbols = self.symbols or ["*"]
        try:
            self.provider.handshake(ws, symbols)
        except Exception:
            ws.close()
            raise
        ws.settimeout(RECV_TIMEOUT_SECONDS)
        self.connected = True
        self.connections += 1
        self._last_frame = self._last_data = time.monotonic()
        log.info("connected to %s (%s), subscribed to %s", self.provider.name, url.split("?")[0],
                 "every symbol" if symbols == ["*"] else f"{len(symbols)} symbols")
        self.ingestor.flush_redis(connected=True)
        return ws

    def on_disconnect(self, ws) -> None:
        was_connected, self.connected = self.connected, False
        if ws is not None:
            try:
                ws.close(timeout=1)
            except Exception:
                pass
        if was_connected and self.gap_from is None and self.ingestor.last_ts is not None:
            self.gap_from, self.gap_reason = self.ingestor.last_ts, DataGap.Reason.DISCONNECT
        try:
            self.ingestor.flush_redis(connected=False)
            self.ingestor.flush_db()
        except Exception as exc:
            log.warning("could not flush after the disconnect: %s", exc)

    def read_loop(self, ws: websocket.WebSocket) -> bool:
        got_data = False
        ingestor = self.ingestor
        sock = ws.sock
        while not self.stopping.is_set():
            try:
                opcode, frame = ws.recv_data_frame(True)
            except websocket.WebSocketTimeoutException:
                self.housekeeping(ws, idle=True, drained=True)
                continue
            now = time.monotonic()
            self._last_frame = now
            if opcode in (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY):
                self._last_data = now
                ticks = ingestor.decode_frame(frame.data)
                if ticks:
                    got_data = True
                    if self.gap_from is not None:
                        self.close_gap(min(t.ts for t in ticks))
                    ingestor.apply(ticks)
            elif opcode == websocket.ABNF.OPCODE_CLOSE:
                raise ConnectionDead("the provider closed the connection")
            idle = not select.select([sock], [], [], 0)[0]
            ingestor.maybe_flush(now, idle)
            if now - self._last_housekeeping >= HOUSEKEEPING_SECONDS:
                self.housekeeping(ws, idle=idle)
        return got_data

    # ------------------------------------------------------------------ gaps
    def close_gap(self, first_ts: float) -> None:
        start, reason = self.gap_from, self.gap_reason
        self.gap_from = None
        if first_ts <= start:
            return
        symbols = sorted(self.ingestor.book) or (self.symbols or [])
        backfilled, count, note = False, 0, ""
        try:
            count = backfill_gap(provider=self.provider, ingestor=self.ingestor, symbols=symbols,
                                 start=start, end=first_ts)
            backfilled = True
        except Exception as exc:  # a failed backfill leaves the gap recorded, not the worker dead
            note = f"backfill failed: {type(exc).__name__}: {exc}"
            log.warning("gap %.3f-%.3f: %s", start, first_ts, note)
        log.info("data gap of %.1f s (%s) %s: %d trades", first_ts - start, reason,
                 "backfilled" if backfilled else "NOT backfilled", count)
        try:
            datagap_record(start=start, end=first_ts, reason=reason, provider=self.provider.name,
                           backfilled=backfilled, backfilled_trades=count, note=note)
        except Exception as exc:
            log.warning("could not record the data gap: %s", exc)
            reset_db_connection()

    # ------------------------------------------------------------------ every second
    def housekeeping(self, ws, *, idle: bool, drained: bool = False) -> None:
        """Every second. ``drained``: the socket had nothing for RECV_TIMEOUT_SECONDS, so a long
        time since the last frame is the provider's silence, not our own pause (a slow flush)."""
        now = time.monotonic()
        self._last_housekeeping = now
        ingestor = self.ingestor
        stale_after = settings.MARKET_DATA_STALE_SECONDS
        if now - self._last_clock >= CLOCK_REFRESH_SECONDS:
            ingestor.clock_offset = self._clock_offset()
            self._last_clock = now
        if now - self._last_active >= ACTIVE_REFRESH_SECONDS:
            self.refresh_active()
        if self.listed_symbols is not None and now - self._last_listed >= LISTED_REFRESH_SECONDS:
            self.subscribe_new(ws)
        if drained and self.gap_from is None and ingestor.last_ts is not None and now - self._last_data > stale_after:
            self.gap_from, self.gap_reason = ingestor.last_ts, DataGap.Reason.SILENCE
            log.warning("no data from %s for %.1f s: quotes are stale", self.provider.name, now - self._last_data)
        ingestor.mark_stale(time.time() + ingestor.clock_offset, stale_after)
        ingestor.flush_redis(connected=self.connected)
        if now - ingestor.last_db_flush >= DB_FLUSH_SECONDS:
            ingestor.flush_db()
        if now - self._last_ping >= PING_SECONDS:
            ws.ping()
            self._last_ping = now
        if drained and now - self._last_frame > max(3 * stale_after, 3 * PING_SECONDS):
            raise ConnectionDead(f"nothing received for {now - self._last_frame:.0f} s, not even a pong")

