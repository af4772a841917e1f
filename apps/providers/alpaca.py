"""Alpaca Market Data API v2: the stream (trades ``t`` and quotes ``q``) and the REST
history (``/v2/stocks/bars``, ``/v2/stocks/trades``) and asset list (``/v2/assets``).

The exchange simulator speaks exactly this format, so this adapter parses both.
Stream frames are JSON arrays of messages, each tagged by ``T``; times are RFC 3339 with
up to nanoseconds. Docs: https://docs.alpaca.markets/docs/real-time-stock-pricing-data
"""
from __future__ import annotations

import time

import orjson

from apps.providers.base import (
    Bar,
    Decoded,
    MalformedMessage,
    MarketDataProvider,
    ProviderError,
    SymbolInfo,
    Tick,
    valid_price,
)
from apps.providers.http import get_json
from apps.providers.timefmt import format_rfc3339, parse_rfc3339

DATA_URL = "https://data.alpaca.markets"
TRADING_URL = "https://paper-api.alpaca.markets"
STREAM_URL = "wss://stream.data.alpaca.markets/v2/iex"
TIMEFRAMES = {"1m": "1Min", "5m": "5Min", "15m": "15Min", "1h": "1Hour", "1d": "1Day", "1w": "1Week", "1M": "1Month"}
# Stream messages we understand but do not turn into ticks: bars, daily and updated bars,
# trading status, LULD bands, corrections, cancellations, and the control replies.
IGNORED_TYPES = frozenset({"b", "d", "u", "s", "l", "c", "x", "success", "subscription"})
PAGE_LIMIT = 10_000
AUTH_TIMEOUT_SECONDS = 10.0
MAX_PAGES = 50


def decode_frame(raw: str | bytes) -> Decoded:
    """Ticks of one stream frame; a bad entry is dropped and counted, the rest are kept."""
    try:
        messages = orjson.loads(raw)
    except (orjson.JSONDecodeError, TypeError) as exc:
        raise MalformedMessage(f"not JSON: {exc}") from None
    if isinstance(messages, dict):
        messages = [messages]
    if not isinstance(messages, list):
        raise MalformedMessage("a frame is a JSON array of messages")
    out = Decoded()
    append = out.ticks.append
    # A trade and the quote that follows it usually share one timestamp string: parse it once.
    last_stamp, last_ts = None, 0.0
    for msg in messages:
        try:
            kind = msg["T"]
            if kind == "t" or kind == "q":
                symbol = msg["S"]
                if type(symbol) is not str or not symbol:
                    raise MalformedMessage("bad symbol")
                stamp = msg["t"]
                if stamp != last_stamp or type(stamp) is not str:
                    last_ts, last_stamp = parse_rfc3339(stamp), stamp
                if kind == "t":
                    price = float(msg["p"])
                    size = int(msg["s"])
                    if not 0.0 < price < 1e12 or size < 0:  # also rejects NaN and infinities
                        raise MalformedMessage("bad price or size")
                    append(Tick(symbol, price, last_ts, size))
                else:
                    bid, ask = msg["bp"], msg["ap"]
                    bid = valid_price(bid) if bid else None  # 0 means "no bid" on a one-sided book
                    ask = valid_price(ask) if ask else None
                    if bid is None and ask is None:
                        raise MalformedMessage("a quote without bid and ask")
                    mid = (bid + ask) / 2 if bid is not None and ask is not None else (bid or ask)
                    append(Tick(symbol, mid, last_ts, 0, bid, ask, "quote"))
            elif kind == "error":
                out.errors.append(f"{msg.get('code')}: {msg.get('msg')}")
            elif kind not in IGNORED_TYPES:
                raise MalformedMessage(f"unknown message type {kind!r}")
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
            out.dropped += 1
    return out


def parse_bar(symbol: str, raw: dict) -> Bar:
    try:
        return Bar(symbol=symbol, start=parse_rfc3339(raw["t"]), open=valid_price(raw["o"]),
                   high=valid_price(raw["h"]), low=valid_price(raw["l"]), close=valid_price(raw["c"]),
                   volume=int(raw["v"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedMessage(f"bad bar {raw!r}: {exc}") from None


def parse_trade(symbol: str, raw: dict) -> Tick:
    try:
        return Tick(symbol=symbol, price=valid_price(raw["p"]), ts=parse_rfc3339(raw["t"]), size=int(raw["s"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedMessage(f"bad trade {raw!r}: {exc}") from None


def parse_asset(raw: dict) -> SymbolInfo | None:
    """One entry of ``/v2/assets``; None for non-equities. ``sector`` and ``market_cap``
    are not Alpaca fields: only the exchange simulator adds them (an extension)."""
    if raw.get("class", "us_equity") != "us_equity" or not raw.get("symbol"):
        return None
    return SymbolInfo(symbol=raw["symbol"], name=raw.get("name") or raw["symbol"],
                      sector=raw.get("sector") or "", industry=raw.get("industry") or "",
                      exchange=raw.get("exchange") or "",
                      market_cap=int(raw["market_cap"]) if raw.get("market_cap") else None,
                      status="active" if raw.get("status", "active") == "active" else "delisted")


class AlpacaProvider(MarketDataProvider):
    name = "alpaca"
    has_trade_history = True

    def __init__(self, *, key: str = "", secret: str = "", ws_url: str = "", rest_url: str = "",
                 trading_url: str = ""):
        self.key, self.secret = key, secret
        self._ws_url = ws_url or STREAM_URL
        self.data_url = rest_url or DATA_URL
        # A custom REST URL (the simulator) serves the asset list too.
        self.trading_url = trading_url or (rest_url or TRADING_URL)

    def ws_url(self) -> str:
        return self._ws_url

    def ws_headers(self) -> list[str]:
        return []

    def rest_headers(self) -> dict:
        return {"APCA-API-KEY-ID": self.key, "APCA-API-SECRET-KEY": self.secret}

    def on_open_messages(self, symbols: list[str]) -> list[str]:
        auth = {"action": "auth", "key": self.key, "secret": self.secret}
        subscribe = {"action": "subscribe", "trades": symbols, "quotes": symbols}
        return [orjson.dumps(auth).decode(), orjson.dumps(subscribe).decode()]

    def subscribe_messages(self, symbols: list[str]) -> list[str]:
        return self.on_open_messages(symbols)[1:]  # no second auth on an open stream

    def handshake(self, ws, symbols: list[str]) -> None:
        """Authenticate, wait for Alpaca's answer, then subscribe (its documented order)."""
        auth, subscribe = self.on_open_messages(symbols)
        ws.send(auth)
        deadline = time.monotonic() + AUTH_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            try:
                replies = orjson.loads(ws.recv())
            except orjson.JSONDecodeError:
                continue
            for reply in replies if isinstance(replies, list) else [replies]:
                if not isinstance(reply, dict):
                    continue
                if reply.get("T") == "error":
                    raise ProviderError(f"{self.name} refused the connection: {reply.get('code')} {reply.get('msg')}")
                if reply.get("T") == "success" and reply.get("msg") == "authenticated":
                    ws.send(subscribe)
                    return
        raise ProviderError(f"{self.name} did not confirm authentication within {AUTH_TIMEOUT_SECONDS} s")

    def decode(self, raw: str | bytes) -> Decoded:
        return decode_frame(raw)

    def fetch_symbols(self) -> list[SymbolInfo]:
        payload = get_json(self.trading_url, "/v2/assets", {"status": "active", "asset_class": "us_equity"},
                           self.rest_headers())
        if not isinstance(payload, list):
            raise ProviderError("/v2/assets: expected a list")
        return [info for info in (parse_asset(raw) for raw in payload if isinstance(raw, dict)) if info]

    def _paged(self, path: str, key: str, params: dict) -> dict[str, list]:
        out: dict[str, list] = {}
        token = None
        for _ in range(MAX_PAGES):
            payload = get_json(self.data_url, path, {**params, "page_token": token}, self.rest_headers())
            if not isinstance(payload, dict) or not isinstance(payload.get(key) or {}, dict):
                raise ProviderError(f"{path}: unexpected body")
            for symbol, rows in (payload.get(key) or {}).items():
                out.setdefault(symbol, []).extend(rows)
            token = payload.get("next_page_token")
            if not token:
                break
        return out

    def fetch_bars_many(self, symbols: list[str], start: float, end: float, interval: str = "1m") -> list[Bar]:
        if interval not in TIMEFRAMES:
            raise ValueError(f"unknown interval {interval!r}")
        rows = self._paged("/v2/stocks/bars", "bars", {
            "symbols": ",".join(symbols), "timeframe": TIMEFRAMES[interval], "start": format_rfc3339(start),
            "end": format_rfc3339(end), "limit": PAGE_LIMIT, "adjustment": "raw"})
        bars = [parse_bar(symbol, raw) for symbol, items in rows.items() for raw in items]
        return [bar for bar in bars if start <= bar.start < end]

    def fetch_bars(self, symbol: str, start: float, end: float, interval: str = "1m") -> list[Bar]:
        return self.fetch_bars_many([symbol], start, end, interval)

    def fetch_trades(self, symbols: list[str], start: float, end: float) -> list[Tick]:
        rows = self._paged("/v2/stocks/trades", "trades", {
            "symbols": ",".join(symbols), "start": format_rfc3339(start), "end": format_rfc3339(end),
            "limit": PAGE_LIMIT})
        trades = [parse_trade(symbol, raw) for symbol, items in rows.items() for raw in items]
        trades = [t for t in trades if start <= t.ts < end]
        trades.sort(key=lambda t: t.ts)
        return trades
