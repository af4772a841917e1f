"""A race's opening prices: each stock's first trade whose provider timestamp is at or after the start.

The feed lags the market, so at the start instant the latest quote in Redis is usually a trade
from a moment before it; locking that would let anyone who watches the market sooner than we do
know part of the race. ``first_trades`` listens on the quote channels (apps.market.quotes: every
trade the feed receives is published there) and takes each stock's first trade stamped at or after
the start. It subscribes before it reads the latest quotes, so no trade slips between the two: a
quote already stamped at or after the start when it looks is taken as it is.
"""
from __future__ import annotations

import time

import orjson
import redis

from apps.market.quotes import QUOTE_CHANNEL, read_quotes


def first_trades(client: redis.Redis, symbols: list[str], *, since: float, timeout: float) -> dict[str, float]:
    """{symbol: price} of each symbol's first trade stamped at or after ``since`` (epoch s), waiting up
    to ``timeout`` seconds; symbols without one by then are left out."""
    found: dict[str, float] = {}
    if not symbols:
        return found
    pubsub = client.pubsub()
    channels = {QUOTE_CHANNEL.format(s): s for s in symbols}
    try:
        pubsub.subscribe(*channels)
        # Once Redis confirms the subscriptions, every later trade reaches us: only then read the latest.
        confirmed, until = 0, time.monotonic() + 2.0
        while confirmed < len(channels) and time.monotonic() < until:
            message = pubsub.get_message(timeout=0.5)
            if message is not None and message.get("type") == "subscribe":
                confirmed += 1
        for symbol, quote in read_quotes(client, symbols).items():
            if quote.ts >= since and quote.price > 0:
                found[symbol] = quote.price
        deadline = time.monotonic() + max(0.0, timeout)
        while len(found) < len(symbols):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            message = pubsub.get_message(timeout=min(remaining, 0.5))
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"].decode() if isinstance(message["channel"], bytes) else message["channel"]
            symbol = channels.get(channel)
            if symbol is None or symbol in found:
                continue
            try:
                trade = orjson.loads(message["data"])
                ts, price = float(trade["ts"]), float(trade["price"])
            except (ValueError, KeyError, TypeError):
                continue
            if ts >= since and price > 0:
                found[symbol] = price
    finally:
        try:
            pubsub.close()
        except redis.RedisError:
            pass
    return found
