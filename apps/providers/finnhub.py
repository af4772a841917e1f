"""Finnhub: the trades stream (``{"type": "trade", "data": [...]}``, times in epoch
milliseconds) and the REST API (``/stock/symbol``, ``/stock/profile2``, ``/stock/candle``).

Finnhub's stream carries trades only (no bid/ask) and its REST API has no tick history on
the ordinary plans, so gaps are backfilled from 1-minute candles.
Docs: https://finnhub.io/docs/api/websocket-trades
"""
from __future__ import annotations

import urllib.parse
from datetime import date

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

REST_URL = "https://finnhub.io/api/v1"
STREAM_URL = "wss://ws.finnhub.io"
RESOLUTIONS = {"1m": "1", "5m": "5", "15m": "15", "1h": "60", "1d": "D", "1w": "W", "1M": "M"}
RESOLUTION_SECONDS = {"1": 60, "5": 300, "15": 900, "60": 3600}
EQUITY_TYPES = frozenset({"Common Stock", "ADR", "ETP", "REIT"})


def decode_frame(raw: str | bytes) -> Decoded:
    try:
        message = orjson.loads(raw)
    except (orjson.JSONDecodeError, TypeError) as exc:
        raise MalformedMessage(f"not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise MalformedMessage("a frame is a JSON object")
    out = Decoded()
    kind = message.get("type")
    if kind == "ping":
        return out
    if kind == "error":
        out.errors.append(str(message.get("msg")))
        return out
    if kind != "trade":
        raise MalformedMessage(f"unknown message type {kind!r}")
    data = message.get("data")
    if not isinstance(data, list):
        raise MalformedMessage("a trade message carries a data list")
    for trade in data:
        try:
            symbol = trade["s"]
            size = int(trade.get("v") or 0)
            ts_ms = trade["t"]
            if type(symbol) is not str or not symbol or size < 0 or type(ts_ms) not in (int, float):
                raise MalformedMessage("bad symbol, size or time")
            out.ticks.append(Tick(symbol, valid_price(trade["p"]), ts_ms / 1000.0, size))
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
            out.dropped += 1
    return out


def parse_candles(symbol: str, payload: dict) -> list[Bar]:
    """``/stock/candle``: parallel arrays o/h/l/c/v/t, ``s`` = "ok" or "no_data"."""
    if not isinstance(payload, dict):
        raise MalformedMessage("candles: expected an object")
    if payload.get("s") == "no_data":
        return []
    if payload.get("s") != "ok":
        raise MalformedMessage(f"candles: status {payload.get('s')!r}")
    try:
        columns = [payload[k] for k in ("t", "o", "h", "l", "c", "v")]
        if len({len(col) for col in columns}) != 1:
            raise MalformedMessage("candles: arrays of different lengths")
        return [Bar(symbol=symbol, start=float(t), open=valid_price(o), high=valid_price(h), low=valid_price(lo),
                    close=valid_price(c), volume=int(v)) for t, o, h, lo, c, v in zip(*columns)]
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedMessage(f"candles: {exc}") from None


def parse_symbol(raw: dict) -> SymbolInfo | None:
    """One entry of ``/stock/symbol?exchange=US``; None for warrants, units, funds..."""
    if raw.get("type") not in EQUITY_TYPES or not raw.get("symbol"):
        return None
    return SymbolInfo(symbol=raw["symbol"], name=(raw.get("description") or raw["symbol"]).title(),
                      exchange=raw.get("mic") or "")


def parse_profile(raw: dict) -> SymbolInfo | None:
    """``/stock/profile2``: {} for an unknown symbol; market cap is in millions of USD."""
    if not isinstance(raw, dict) or not raw.get("ticker"):
        return None
    ipo = None
    if raw.get("ipo"):
        try:
            ipo = date.fromisoformat(raw["ipo"])
        except ValueError:
            ipo = None
    cap = raw.get("marketCapitalization")
    return SymbolInfo(symbol=raw["ticker"], name=raw.get("name") or raw["ticker"],
                      sector=raw.get("finnhubIndustry") or "", exchange=raw.get("exchange") or "",
                      market_cap=int(float(cap) * 1_000_000) if cap else None, ipo_date=ipo)


class FinnhubProvider(MarketDataProvider):
    name = "finnhub"
    has_trade_history = False

    def __init__(self, *, key: str = "", ws_url: str = "", rest_url: str = ""):
        self.key = key
        self._ws_url = ws_url or STREAM_URL
        self.rest_url = rest_url or REST_URL

    def ws_url(self) -> str:
        separator = "&" if "?" in self._ws_url else "?"
        return f"{self._ws_url}{separator}{urllib.parse.urlencode({'token': self.key})}"

    def ws_headers(self) -> list[str]:
        return []

    def on_open_messages(self, symbols: list[str]) -> list[str]:
        # Finnhub subscribes one symbol per message; authentication is the URL's token.
        return [orjson.dumps({"type": "subscribe", "symbol": s}).decode() for s in symbols]

    def decode(self, raw: str | bytes) -> Decoded:
        return decode_frame(raw)

    def _get(self, path: str, params: dict):
        return get_json(self.rest_url, path, params, {"X-Finnhub-Token": self.key})

    def fetch_symbols(self) -> list[SymbolInfo]:
        payload = self._get("/stock/symbol", {"exchange": "US"})
        if not isinstance(payload, list):
            raise ProviderError("/stock/symbol: expected a list")
        return [info for info in (parse_symbol(raw) for raw in payload if isinstance(raw, dict)) if info]

    def fetch_profile(self, symbol: str) -> SymbolInfo | None:
        return parse_profile(self._get("/stock/profile2", {"symbol": symbol}))

    def fetch_bars(self, symbol: str, start: float, end: float, interval: str = "1m") -> list[Bar]:
        if interval not in RESOLUTIONS:
            raise ValueError(f"unknown interval {interval!r}")
        # Finnhub's `to` is inclusive and in whole seconds.
        payload = self._get("/stock/candle", {"symbol": symbol, "resolution": RESOLUTIONS[interval],
                                              "from": int(start), "to": int(end)})
        return [bar for bar in parse_candles(symbol, payload) if start <= bar.start < end]
