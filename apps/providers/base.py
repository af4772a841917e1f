"""What every market-data provider offers, normalised to our own types.

The market-data worker speaks to one provider at a time (settings.MARKET_DATA_PROVIDER),
through one persistent WebSocket; the REST side serves symbol sync and gap backfill.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple


class MalformedMessage(ValueError):
    """A message we cannot understand: counted, logged and dropped by the worker."""


class ProviderError(RuntimeError):
    """A REST call failed (network, HTTP status or an unreadable body)."""


class Tick(NamedTuple):
    """One trade or quote update. A NamedTuple: built for every message on the hot path,
    it costs a quarter of a frozen dataclass."""

    symbol: str
    price: float
    ts: float  # provider time, epoch seconds (UTC)
    size: int = 0  # shares traded (0 for a quote update)
    bid: float | None = None
    ask: float | None = None
    kind: str = "trade"  # "trade" or "quote"


@dataclass(frozen=True, slots=True)
class SymbolInfo:
    symbol: str
    name: str
    sector: str = ""
    industry: str = ""
    exchange: str = ""
    market_cap: int | None = None
    status: str = "active"  # "active" or "delisted"
    previous_symbol: str | None = None  # set when the ticker was renamed
    ipo_date: date | None = None


@dataclass(frozen=True, slots=True)
class Bar:
    symbol: str
    start: float  # bucket start, epoch seconds (UTC)
    open: float
    high: float
    low: float
    close: float
    volume: int


@dataclass(slots=True)
class Decoded:
    """What one wire frame held: the ticks, how many entries were dropped, and the
    provider's own error notices (authentication refused, too many symbols...)."""

    ticks: list[Tick] = field(default_factory=list)
    dropped: int = 0
    errors: list[str] = field(default_factory=list)


INTERVALS = ("1m", "5m", "15m", "1h", "1d", "1w", "1M")


def valid_price(value) -> float:
    """A finite positive price as float; anything else is a malformed message."""
    price = float(value)
    if not 0.0 < price < 1e12:  # also rejects NaN and infinities
        raise MalformedMessage(f"bad price {value!r}")
    return price


class MarketDataProvider(ABC):
    name: str = "abstract"
    # Whether fetch_trades serves tick history; bar-only providers backfill from 1-minute bars.
    has_trade_history: bool = False

    @abstractmethod
    def ws_url(self) -> str: ...

    @abstractmethod
    def ws_headers(self) -> list[str]: ...

    @abstractmethod
    def on_open_messages(self, symbols: list[str]) -> list[str]:
        """Authentication and subscription frames to send once the socket is open."""

    def subscribe_messages(self, symbols: list[str]) -> list[str]:
        """Frames that add symbols to an open, authenticated stream."""
        return self.on_open_messages(symbols)

    def handshake(self, ws, symbols: list[str]) -> None:
        """Open the stream on a connected websocket-client socket: by default, send the
        opening frames. Providers that must hear back between frames override it."""
        for message in self.on_open_messages(symbols):
            ws.send(message)

    @abstractmethod
    def decode(self, raw: str | bytes) -> Decoded:
        """Every tick in one wire frame; bad entries are counted in ``dropped`` while the
        good ones are kept. Raises MalformedMessage when the frame as a whole is unreadable."""

    def normalize(self, raw: str | bytes) -> list[Tick]:
        """Ticks in one wire message; [] for control messages. Raises MalformedMessage
        if any part of it is malformed (the strict form of ``decode``)."""
        decoded = self.decode(raw)
        if decoded.dropped:
            raise MalformedMessage(f"{decoded.dropped} malformed entries")
        return decoded.ticks

    @abstractmethod
    def fetch_symbols(self) -> list[SymbolInfo]:
        """Every symbol the provider lists, with what metadata it has."""

    @abstractmethod
    def fetch_bars(self, symbol: str, start: float, end: float, interval: str = "1m") -> list[Bar]:
        """History between two epoch-second instants, for backfill and metadata."""

    def fetch_bars_many(self, symbols: list[str], start: float, end: float, interval: str = "1m") -> list[Bar]:
        """Bars of several symbols; providers with a multi-symbol endpoint override this."""
        return [bar for symbol in symbols for bar in self.fetch_bars(symbol, start, end, interval)]

    def fetch_trades(self, symbols: list[str], start: float, end: float) -> list[Tick]:
        """Trades of several symbols in [start, end), oldest first (only if has_trade_history)."""
        raise NotImplementedError(f"{self.name} serves no trade history")

    def fetch_profile(self, symbol: str) -> SymbolInfo | None:
        """Richer metadata of one symbol where the provider has a profile endpoint."""
        return None
