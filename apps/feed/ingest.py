"""The worker's hot path: wire frames in; latest quotes to Redis, snapshots and candles out.

Each frame is decoded by the provider's adapter and every tick is applied to an in-memory
book (symbol -> latest price, bid, ask, day volume, provider time, received time), to the
snapshot grid and to the candle builder. Redis is written in one pipeline per flush
(every REDIS_FLUSH_SECONDS under load, at once when the socket is idle), with the latest quote
of each symbol that changed since the last flush: under load several ticks of one symbol
conflate into one write and one publish (the latest wins), which is what every reader
wants. PostgreSQL gets snapshots and candles about once a second, set-based.
"""
from __future__ import annotations

import logging
import math
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from apps.providers.base import MalformedMessage, MarketDataProvider, Tick
from apps.feed.services import snapshots_write
from apps.feed.snapshots import SnapshotGrid
from apps.market.quotes import FEED_KEY, QUOTE_KEY, Quote, write_quote

log = logging.getLogger("stockrace.market-data")
NEW_YORK = ZoneInfo("America/New_York")
REDIS_FLUSH_SECONDS = 0.05  # under load; the browsers' fan-out conflates at 100 ms anyway
DB_FLUSH_SECONDS = 1.0
DROP_LOG_EVERY_SECONDS = 10.0
SNAPSHOT_BACKLOG_LIMIT = 500_000  # rows kept while PostgreSQL is unreachable

# Book entry layout: [price, bid, ask, day volume, provider ts, received, day start]
PRICE, BID, ASK, VOLUME, TS, RECV, DAY = range(7)


def new_york_day(ts: float) -> tuple[float, float]:
    """Start and end (epoch seconds) of the New York calendar day holding ``ts``."""
    local = datetime.fromtimestamp(ts, NEW_YORK)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=1, hours=2)).replace(hour=0)  # through DST changes
    return start.timestamp(), end.timestamp()


class Ingestor:
    def __init__(self, *, provider: MarketDataProvider, redis, candles=None, grid: SnapshotGrid | None = None,
                 clock_offset: float = 0.0, quote_hooks: list | None = None):
        self.provider = provider
        # Callables given each batch of quotes just written to Redis (settings.QUOTE_BATCH_HOOKS,
        # loaded by run_market_data: the trading floor's trigger check). A hook that fails is
        # logged; the feed goes on.
        self.quote_hooks = list(quote_hooks or ())
        self.decode = provider.decode
        self.redis = redis
        self.candles = candles
        self.grid = grid or SnapshotGrid(active_seconds=settings.SNAPSHOT_ACTIVE_SECONDS,
                                         idle_seconds=settings.SNAPSHOT_IDLE_SECONDS,
                                         max_fill=settings.MARKET_DATA_STALE_SECONDS)
        self.clock_offset = clock_offset  # Redis TIME minus our clock: every "recv" is on Redis time
        self.book: dict[str, list] = {}
        self.dirty: set[str] = set()
        self.stale: set[str] = set()
        self.messages = self.ticks = self.dropped = 0
        self.last_ts: float | None = None  # provider time of the newest tick
        self.last_recv: float | None = None
        self.day_start, self.day_end = -math.inf, -math.inf
        self.last_redis_flush = 0.0
        self.last_db_flush = time.monotonic()
        self._drops_since_log = 0
        self._last_drop_log = 0.0
        self.errors_seen = 0

    # ------------------------------------------------------------------ hot path
    def on_frame(self, raw, recv: float | None = None) -> list[Tick]:
        """Decode one frame and apply its ticks. Never raises on input: a bad frame or entry
        is counted in ``dropped`` and logged at most once per DROP_LOG_EVERY_SECONDS."""
        ticks = self.decode_frame(raw)
        if ticks:
            self.apply(ticks, recv)
        return ticks

    def decode_frame(self, raw) -> list[Tick]:
        self.messages += 1
        self.last_recv = time.time() + self.clock_offset
        try:
            decoded = self.decode(raw)
        except MalformedMessage as exc:
            self._dropped(1, str(exc), raw)
            return []
        except Exception as exc:  # an adapter bug on odd input must not kill the worker either
            self._dropped(1, f"{type(exc).__name__}: {exc}", raw)
            return []
        if decoded.dropped:
            self._dropped(decoded.dropped, "malformed entries", raw)
        if decoded.errors:
            self.errors_seen += len(decoded.errors)
            log.warning("provider %s reports: %s", self.provider.name, "; ".join(decoded.errors)[:300])
        return decoded.ticks

    def apply(self, ticks: list[Tick], recv: float | None = None) -> None:
        recv = self.last_recv if recv is None else recv
        book, dirty, grid, candles = self.book, self.dirty, self.grid, self.candles
        last_ts = self.last_ts
        for tick in ticks:
            ts = tick.ts
            if ts > grid.next_due:
                grid.last_ts = last_ts
                grid.advance(ts, book)
            elif last_ts is None:
                grid.start(ts)
            if ts >= self.day_end:
                self.day_start, self.day_end = new_york_day(ts)
            symbol = tick.symbol
            state = book.get(symbol)
            if state is None:
                state = book[symbol] = [tick.price, None, None, 0, ts, recv, self.day_start]
            if tick.kind == "trade":
                state[PRICE] = tick.price
                if state[DAY] != self.day_start:
                    state[DAY], state[VOLUME] = self.day_start, 0
                state[VOLUME] += tick.size
                if candles is not None:
                    candles.add_trade(symbol, ts, tick.price, tick.size)
            else:
                state[BID], state[ASK] = tick.bid, tick.ask
            state[TS] = ts
            state[RECV] = recv
            dirty.add(symbol)
            if last_ts is None or ts > last_ts:
                last_ts = ts
        self.ticks += len(ticks)
        self.last_ts = last_ts

    # ------------------------------------------------------------------ flushes
    def flush_redis(self, *, connected: bool = True) -> int:
        """Write and publish the latest quote of every symbol that changed, and the feed state."""
        dirty, self.dirty = self.dirty, set()
        pipe = self.redis.pipeline(transaction=False)
        book = self.book
        batch = []
        for symbol in dirty:
            s = book[symbol]
            quote = Quote(symbol, s[PRICE], s[BID], s[ASK], s[VOLUME], s[TS], s[RECV])
            batch.append(quote)
            write_quote(pipe, quote)
            if symbol in self.stale:
                pipe.hset(QUOTE_KEY.format(symbol), "stale", 0)
                self.stale.discard(symbol)
        feed = {"provider": self.provider.name, "connected": int(connected), "messages": self.messages,
                "ticks": self.ticks, "dropped": self.dropped, "symbols": len(book),
                "stale_symbols": len(self.stale)}
        if self.last_recv is not None:
            feed["last_recv"] = self.last_recv
        if self.last_ts is not None:
            feed["last_ts"] = self.last_ts
        pipe.hset(FEED_KEY, mapping=feed)
        try:
            pipe.execute()
        except Exception:
            self.dirty |= dirty  # written at the next flush, with whatever is newer by then
            raise
        self.last_redis_flush = time.monotonic()
        if batch:
            for hook in self.quote_hooks:
                try:
                    hook(batch)
                except Exception:  # noqa: BLE001 - a hook's failure must not stop the feed
                    log.exception("quote batch hook %r failed", hook)
        return len(dirty)

    def flush_db(self) -> tuple[int, int]:
        """Write buffered snapshots and candles; a failure keeps them for the next try."""
        self.last_db_flush = time.monotonic()
        rows = self.grid.take()
        written = candles_written = 0
        try:
            written = snapshots_write(rows=rows)
        except Exception as exc:
            self.grid.give_back(rows, SNAPSHOT_BACKLOG_LIMIT)
            log.warning("snapshots not written (%d kept for the next try): %s", len(self.grid.rows), exc)
            reset_db_connection()
        if self.candles is not None:
            try:
                candles_written = self.candles.flush()
            except Exception as exc:
                log.warning("candles not written (kept for the next try): %s", exc)
                reset_db_connection()
        return written, candles_written

    def maybe_flush(self, now: float, idle: bool = False) -> None:
        """Flushes that are due: Redis when the socket is idle or every REDIS_FLUSH_SECONDS,
        PostgreSQL every DB_FLUSH_SECONDS."""
        if self.dirty and (idle or now - self.last_redis_flush >= REDIS_FLUSH_SECONDS):
            self.flush_redis()
        if now - self.last_db_flush >= DB_FLUSH_SECONDS:
            self.flush_db()

    def mark_stale(self, now: float, stale_after: float) -> list[str]:
        """Flag quotes (``stale`` = 1 in their hash) that nothing refreshed for ``stale_after`` s."""
        newly = [symbol for symbol, s in self.book.items()
                 if symbol not in self.stale and now - s[RECV] > stale_after]
        if newly:
            pipe = self.redis.pipeline(transaction=False)
            for symbol in newly:
                pipe.hset(QUOTE_KEY.format(symbol), "stale", 1)
            pipe.hset(FEED_KEY, "stale_symbols", len(self.stale) + len(newly))
            pipe.execute()
            self.stale.update(newly)
        return newly

    # ------------------------------------------------------------------ drops
    def _dropped(self, count: int, reason: str, raw) -> None:
        self.dropped += count
        self._drops_since_log += count
        now = time.monotonic()
        if now - self._last_drop_log >= DROP_LOG_EVERY_SECONDS:
            sample = raw[:120] if isinstance(raw, (str, bytes)) else type(raw).__name__
            log.warning("dropped %d malformed message(s) since the last report (%d in all); latest: %s: %r",
                        self._drops_since_log, self.dropped, reason[:200], sample)
            self._drops_since_log = 0
            self._last_drop_log = now


def reset_db_connection() -> None:
    """After a failed query: a worker holds its connection for ever, so drop a broken one."""
    from django.db import connection

    try:
        connection.close()  # the next query opens a fresh one
    except Exception:
        pass
