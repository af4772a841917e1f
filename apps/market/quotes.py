"""The live-quote contract in Redis, shared by the market-data worker, the race engine,
the API and /healthz.

- ``quote:{SYMBOL}`` — a hash with the latest quote: price, bid, ask, volume (day volume),
  ts (provider time, epoch seconds) and recv (when our worker received it, epoch seconds).
- ``quotes:{SYMBOL}`` — a pub/sub channel; every change is published there as JSON.
- ``md:feed`` — a hash describing the feed: provider, connected (0/1), last_recv (epoch
  seconds of the last message of any symbol), messages, dropped.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import orjson
import redis
from django.conf import settings

QUOTE_KEY = "quote:{}"
# Pub/sub channels are server-wide (not per Redis database): the prefix keeps a test run and
# a demo on one server apart (settings.REDIS_PUBSUB_PREFIX is empty in production).
QUOTE_CHANNEL = settings.REDIS_PUBSUB_PREFIX + "quotes:{}"
FEED_KEY = "md:feed"


@dataclass(frozen=True, slots=True)
class Quote:
    symbol: str
    price: float
    bid: float | None
    ask: float | None
    volume: int
    ts: float  # provider time, epoch seconds
    recv: float  # received by our worker, epoch seconds

    def as_dict(self) -> dict:
        return {"symbol": self.symbol, "price": self.price, "bid": self.bid, "ask": self.ask,
                "volume": self.volume, "ts": self.ts, "recv": self.recv}


def write_quote(pipe: redis.client.Pipeline, quote: Quote) -> None:
    """Queue the write and the publish of one quote on a pipeline (the caller executes it)."""
    fields = {"price": quote.price, "volume": quote.volume, "ts": quote.ts, "recv": quote.recv,
              "bid": "" if quote.bid is None else quote.bid, "ask": "" if quote.ask is None else quote.ask}
    pipe.hset(QUOTE_KEY.format(quote.symbol), mapping=fields)
    pipe.publish(QUOTE_CHANNEL.format(quote.symbol), orjson.dumps(quote.as_dict()))


def quote_from_hash(symbol: str, raw: dict) -> Quote | None:
    """The Quote a ``quote:{SYMBOL}`` hash holds (as HGETALL returns it), None when it has no price.
    A corrupt field raises TypeError or ValueError; readers decide what that means."""
    if not raw or not raw.get("price"):
        return None
    opt = lambda v: float(v) if v not in (None, "") else None  # noqa: E731
    return Quote(symbol=symbol, price=float(raw["price"]), bid=opt(raw.get("bid")), ask=opt(raw.get("ask")),
                 volume=int(float(raw.get("volume") or 0)), ts=float(raw.get("ts") or 0),
                 recv=float(raw.get("recv") or 0))


def read_quotes(client: redis.Redis, symbols: list[str]) -> dict[str, Quote]:
    """The latest quotes of many symbols in one round trip; symbols without a quote are left out."""
    pipe = client.pipeline(transaction=False)
    for symbol in symbols:
        pipe.hgetall(QUOTE_KEY.format(symbol))
    out = {}
    for symbol, raw in zip(symbols, pipe.execute()):
        quote = quote_from_hash(symbol, raw)
        if quote is not None:
            out[symbol] = quote
    return out


def feed_state(client: redis.Redis) -> dict:
    return client.hgetall(FEED_KEY)


# Every quote hash and the server clock in one command: one round trip, and one command to pack
# instead of one per symbol (packing dominated the client's CPU for 50 symbols).
READ_QUOTES_LUA = """
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('HGETALL', key) end
out[#KEYS + 1] = redis.call('TIME')
return out
"""
READ_QUOTES_SHA = hashlib.sha1(READ_QUOTES_LUA.encode()).hexdigest()


def read_quotes_at(client: redis.Redis, symbols: list[str]) -> tuple[dict[str, Quote], float]:
    """Like ``read_quotes``, plus Redis' clock (epoch seconds) read in the same round trip, so a
    caller can tell stale quotes without a second call."""
    keys = [QUOTE_KEY.format(symbol) for symbol in symbols]
    try:
        rows = client.evalsha(READ_QUOTES_SHA, len(keys), *keys)
    except redis.exceptions.NoScriptError:
        rows = client.eval(READ_QUOTES_LUA, len(keys), *keys)  # also caches the script in Redis
    *hashes, (seconds, micros) = rows
    out = {}
    for symbol, flat in zip(symbols, hashes):
        try:
            quote = quote_from_hash(symbol, dict(zip(flat[::2], flat[1::2])))
        except (TypeError, ValueError):
            quote = None  # a corrupt hash reads as "no quote" rather than failing the request
        if quote is not None:
            out[symbol] = quote
    return out, int(seconds) + int(micros) / 1_000_000
