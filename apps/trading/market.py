"""What the trading floor reads of the market in Redis: a symbol's quote, its trade lock and the
feed's state, in one round trip; and the trade lock itself.

Keys (documented in docs/TRADING.md):

- ``trd:lock:{SYMBOL}`` — a locked symbol: JSON ``{"reason", "until"}``, expiring when the lock
  lifts (SET ... PX), so a lock never outlives TRADE_LOCK_SECONDS without a new cause;
- ``trd:rate:{user}:{minute}`` — orders a player sent in a minute (INCR in the same round trip).
- the quote hashes and ``md:feed`` of apps/market/quotes.py.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from django.conf import settings

from apps.core.redis import get_redis
from apps.market.quotes import FEED_KEY, QUOTE_KEY, Quote, quote_from_hash
from apps.trading.rules import OrderRefused, QuoteView, quote_view

LOCK_KEY = "trd:lock:{}"
RATE_KEY = "trd:rate:{}:{}"  # orders of one player in one minute


class LockReason:
    JUMP = "price_jump"
    STALE = "feed_stale"
    GAP = "data_gap"

    LABELS = {JUMP: "its price jumped", STALE: "its feed went stale", GAP: "market data went missing"}


@dataclass(frozen=True, slots=True)
class MarketState:
    symbol: str
    quote: Quote | None
    lock: dict | None  # {"reason", "until"} while locked
    now: float  # Redis time, epoch seconds
    feed_connected: bool
    orders_this_minute: int = 0

    @property
    def age(self) -> float | None:
        return None if self.quote is None else self.now - self.quote.recv

    def view(self) -> QuoteView:
        q = self.quote
        return quote_view(q.price, q.bid, q.ask)


def market_state(symbol: str, client=None, *, count_order_of: int | None = None) -> MarketState:
    """The quote, the lock and the feed's connection flag of ``symbol``, with Redis' clock, in one
    round trip. ``count_order_of``: also count an order of this player in the current minute
    (``orders_this_minute``: the per-player order rate limit)."""
    client = client or get_redis()
    pipe = client.pipeline(transaction=False)
    pipe.hgetall(QUOTE_KEY.format(symbol))
    pipe.get(LOCK_KEY.format(symbol))
    pipe.hget(FEED_KEY, "connected")
    pipe.time()
    if count_order_of is not None:
        # The minute of this process's clock names the counter; Redis' TIME above is for the rest.
        key = RATE_KEY.format(int(count_order_of), int(time.time() // 60))
        pipe.incr(key)
        pipe.expire(key, 120)
    raw, lock, connected, (seconds, micros), *counted = pipe.execute()
    try:
        quote = quote_from_hash(symbol, raw)
    except (TypeError, ValueError):
        quote = None
    return MarketState(symbol=symbol, quote=quote, lock=_lock(lock), now=int(seconds) + int(micros) / 1e6,
                       feed_connected=connected != "0", orders_this_minute=int(counted[0]) if counted else 0)


def check_rate(state: MarketState) -> None:
    """At most TRADE_ORDERS_PER_MINUTE orders per player per minute (429 with Retry-After)."""
    limit = settings.TRADE_ORDERS_PER_MINUTE
    if state.orders_this_minute > limit:
        wait = max(1, math.ceil(60 - time.time() % 60))
        raise OrderRefused("rate_limited", f"Too many orders in a short time (the limit is {limit} a minute): try "
                                           f"again in {wait} s.", status=429, extra={"retry_after": wait})


def _lock(raw: str | None) -> dict | None:
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return {"reason": "locked", "until": None}
    return value if isinstance(value, dict) else {"reason": "locked", "until": None}


def check_tradable(state: MarketState) -> None:
    """Refuse (409) a trade on a symbol that is locked, or whose quote is missing or older than
    TRADE_MAX_QUOTE_AGE_SECONDS: a fill at a stale price is a free option for whoever sees the
    real market sooner."""
    symbol = state.symbol
    if state.lock is not None:
        until = state.lock.get("until")
        reason = LockReason.LABELS.get(state.lock.get("reason"), "of unusual market data")
        wait = ""
        if until:
            at = datetime.fromtimestamp(until, timezone.utc).strftime("%H:%M:%S")
            wait = f" until {at} UTC ({max(1, math.ceil(until - state.now))} s)"
        raise OrderRefused("symbol_locked", f"Trading in {symbol} is paused{wait} because {reason}.",
                           extra={"locked_until": until, "lock_reason": state.lock.get("reason"),
                                  "retry_after": max(1, math.ceil(until - state.now)) if until else None})
    if state.quote is None:
        raise OrderRefused("no_quote", f"There is no live quote for {symbol} yet: try again in a moment.")
    max_age = settings.TRADE_MAX_QUOTE_AGE_SECONDS
    if not state.feed_connected or state.age > max_age:
        raise OrderRefused("quote_stale", f"The latest {symbol} quote is {state.age:.1f} s old (the limit is "
                                          f"{max_age:g} s): orders wait for a fresh price.",
                           extra={"quote_age": round(state.age, 3)})


def lock_symbols(client, symbols, *, reason: str, now: float, seconds: int | None = None, pipe=None) -> None:
    """Lock ``symbols`` for TRADE_LOCK_SECONDS from ``now`` (Redis time), extending any lock on them."""
    seconds = seconds or settings.TRADE_LOCK_SECONDS
    own = pipe is None
    pipe = pipe if pipe is not None else client.pipeline(transaction=False)
    value = json.dumps({"reason": reason, "until": round(now + seconds, 3)})
    for symbol in symbols:
        pipe.set(LOCK_KEY.format(symbol), value, px=int(seconds * 1000))
    if own:
        pipe.execute()


def locks_of(symbols: list[str], client=None) -> dict[str, dict]:
    client = client or get_redis()
    if not symbols:
        return {}
    values = client.mget([LOCK_KEY.format(s) for s in symbols])
    return {s: _lock(v) for s, v in zip(symbols, values) if v}
