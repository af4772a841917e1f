"""What every market-data provider offers, normalised to our own types.

The market-data worker speaks to one provider at a time (settings.MARKET_DATA_PROVIDER),
through one persistent WebSocket; the REST side serves symbol sync and gap backfill.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date


class MalformedMessage(ValueError):
    """A message we cannot understand: counted, logged and dropped by the worker."""


@dataclass(frozen=True, slots=True)
class Tick:
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


class MarketDataProvider(ABC):
    name: str = "abstract"

    @abstractmethod
    def ws_url(self) -> str: ...

    @abstractmethod
    def ws_headers(self) -> list[str]: ...

    @abstractmethod
    def on_open_messages(self, symbols: list[str]) -> list[str]:
        """Authentication and subscription frames to send once the socket is open."""

    @abstractmethod
    def normalize(self, raw: str | bytes) -> list[Tick]:
        """Ticks in one wire message; [] for control messages. Raises MalformedMessage."""

    @abstractmethod
    def fetch_symbols(self) -> list[SymbolInfo]:
        """Every symbol the provider lists, with what metadata it has."""

    @abstractmethod
    def fetch_bars(self, symbol: str, start: float, end: float, interval: str = "1m") -> list[Bar]:
        """History between two epoch-second instants, for backfill and metadata."""
