"""Market-data providers behind one interface, chosen by settings.MARKET_DATA_PROVIDER.

- ``simulator``: our exchange simulator (``manage.py run_exchange_sim``), Alpaca's wire format;
- ``replay``: the same simulator replaying real 1-minute bars (REPLAY_DIR, REPLAY_SPEED);
- ``alpaca`` and ``finnhub``: the real services (MARKET_DATA_API_KEY / _SECRET).
"""
from __future__ import annotations

from django.conf import settings

from apps.providers.alpaca import AlpacaProvider
from apps.providers.base import Bar, Decoded, MalformedMessage, MarketDataProvider, ProviderError, SymbolInfo, Tick
from apps.providers.finnhub import FinnhubProvider

__all__ = ["AlpacaProvider", "Bar", "Decoded", "FinnhubProvider", "MalformedMessage", "MarketDataProvider",
           "ProviderError", "SymbolInfo", "Tick",
           "get_provider", "simulator_urls"]

SIMULATOR_STREAM_PATH = "/v2/sim"


def simulator_urls(host: str | None = None, port: int | None = None) -> tuple[str, str]:
    """The stream and REST base URLs of a local exchange simulator."""
    host = host or settings.EXCHANGE_SIM_HOST
    port = port or settings.EXCHANGE_SIM_PORT
    return f"ws://{host}:{port}{SIMULATOR_STREAM_PATH}", f"http://{host}:{port}"


class SimulatorProvider(AlpacaProvider):
    """The exchange simulator: Alpaca's format on a local port."""

    name = "simulator"


class ReplayProvider(AlpacaProvider):
    """Real bars replayed by the exchange simulator (``run_exchange_sim --replay``)."""

    name = "replay"


def get_provider(name: str | None = None) -> MarketDataProvider:
    name = name or settings.MARKET_DATA_PROVIDER
    key, secret = settings.MARKET_DATA_API_KEY, settings.MARKET_DATA_API_SECRET
    ws_url, rest_url = settings.MARKET_DATA_WS_URL, settings.MARKET_DATA_REST_URL
    if name in ("simulator", "replay"):
        sim_ws, sim_rest = simulator_urls()
        cls = SimulatorProvider if name == "simulator" else ReplayProvider
        return cls(key=key or "stockrace", secret=secret or "stockrace", ws_url=ws_url or sim_ws,
                   rest_url=rest_url or sim_rest)
    if name == "alpaca":
        return AlpacaProvider(key=key, secret=secret, ws_url=ws_url, rest_url=rest_url)
    if name == "finnhub":
        return FinnhubProvider(key=key, ws_url=ws_url, rest_url=rest_url)
    raise ValueError(f"unknown market-data provider {name!r}")
