"""Provider adapters normalise recorded Alpaca and Finnhub payloads to Tick/Bar/SymbolInfo."""
from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from apps.providers import FinnhubProvider, get_provider
from apps.providers.alpaca import AlpacaProvider
from apps.providers.base import Bar, MalformedMessage, Tick
from apps.providers.timefmt import format_rfc3339, parse_rfc3339

PAYLOADS = Path(__file__).parent / "payloads"


def payload(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


# ----------------------------------------------------------------------------- times
@pytest.mark.parametrize("text, expected", [
    ("2021-02-22T15:51:44Z", ts("2021-02-22T15:51:44")),
    ("2021-02-22T15:51:44.208Z", ts("2021-02-22T15:51:44.208")),
    ("2021-02-22T15:51:45.335689322Z", ts("2021-02-22T15:51:45") + 0.335689322),
    ("2021-02-22T10:51:44-05:00", ts("2021-02-22T15:51:44")),
    ("2021-02-22T17:21:44.5+01:30", ts("2021-02-22T15:51:44.5")),
])
def test_rfc3339_times_parse_to_epoch_seconds(text, expected):
    assert parse_rfc3339(text) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("text", ["", "2021-02-22", "2021-02-22T15:51:44", "2021-02-22T15:51:44.x Z",
                                  "2021-13-22T15:51:44Z", "yesterday at noon", 1613994704])
def test_bad_times_are_rejected(text):
    with pytest.raises(ValueError):
        parse_rfc3339(text)


def test_format_round_trips():
    assert parse_rfc3339(format_rfc3339(1613994704.208123)) == pytest.approx(1613994704.208123, abs=1e-6)


# ----------------------------------------------------------------------------- Alpaca stream
def test_alpaca_trades_and_quotes_become_ticks_and_the_rest_is_ignored():
    decoded = AlpacaProvider().decode(payload("alpaca/stream_data.json"))
    assert decoded.dropped == 0 and decoded.errors == []
    assert decoded.ticks == [
        Tick("AAPL", 126.55, ts("2021-02-22T15:51:44.208"), 1),
        Tick("AMD", pytest.approx(87.67), pytest.approx(ts("2021-02-22T15:51:45.335689322")), 0, 87.66, 87.68,
             "quote"),
        Tick("AAPL", 126.56, pytest.approx(ts("2021-02-22T15:51:46.512345678")), 200),
    ]


@pytest.mark.parametrize("name", ["stream_welcome.json", "stream_authenticated.json", "stream_subscription.json"])
def test_alpaca_control_messages_carry_no_ticks(name):
    decoded = AlpacaProvider().decode(payload(f"alpaca/{name}"))
    assert (decoded.ticks, decoded.dropped, decoded.errors) == ([], 0, [])


def test_alpaca_errors_are_reported():
    assert AlpacaProvider().decode(payload("alpaca/stream_auth_failed.json")).errors == ["402: auth failed"]


def test_alpaca_one_sided_quote_keeps_the_side_it_has():
    (tick,) = AlpacaProvider().normalize(payload("alpaca/stream_one_sided_quote.json"))
    assert (tick.bid, tick.ask, tick.price, tick.kind) == (None, 9.87, 9.87, "quote")


def test_alpaca_bad_entries_are_dropped_and_counted_the_good_kept():
    decoded = AlpacaProvider().decode(payload("alpaca/stream_mixed_bad.json"))
    assert [t.price for t in decoded.ticks] == [126.6]
    assert decoded.dropped == 5
    with pytest.raises(MalformedMessage):
        AlpacaProvider().normalize(payload("alpaca/stream_mixed_bad.json"))


@pytest.mark.parametrize("raw", [b"", b"{", b"42", b'"text"', b"null", "[{\"T\": \"t\"", b"\xff\xfe"])
def test_alpaca_unreadable_frames_raise_malformed(raw):
    with pytest.raises(MalformedMessage):
        AlpacaProvider().decode(raw)


def test_alpaca_opening_frames_authenticate_then_subscribe():
    auth, subscribe = AlpacaProvider(key="k", secret="s").on_open_messages(["AAPL", "MSFT"])
    assert auth == '{"action":"auth","key":"k","secret":"s"}'
    assert subscribe == '{"action":"subscribe","trades":["AAPL","MSFT"],"quotes":["AAPL","MSFT"]}'


# ----------------------------------------------------------------------------- Alpaca REST
def fake_get(monkeypatch, module, pages):
    calls = []

    def get_json(base, path, params=None, headers=None, timeout=10):
        calls.append((base, path, dict(params or {}), headers))
        return pages[len(calls) - 1]

    monkeypatch.setattr(f"apps.providers.{module}.get_json", get_json)
    return calls


def test_alpaca_bars_of_several_symbols(monkeypatch):
    import orjson

    calls = fake_get(monkeypatch, "alpaca", [orjson.loads(payload("alpaca/rest_bars_multi.json"))])
    provider = AlpacaProvider(key="k", secret="s", rest_url="http://sim")
    bars = provider.fetch_bars_many(["AAPL", "MSFT"], ts("2021-02-01T16:00:00"), ts("2021-02-01T17:00:00"))
    assert bars[0] == Bar("AAPL", ts("2021-02-01T16:01:00"), 133.32, 133.74, 133.31, 133.5, 9876)
    assert [b.symbol for b in bars] == ["AAPL", "AAPL", "MSFT"]
    base, path, params, headers = calls[0]
    assert (base, path, params["timeframe"], params["symbols"]) == ("http://sim", "/v2/stocks/bars", "1Min", "AAPL,MSFT")
    assert headers == {"APCA-API-KEY-ID": "k", "APCA-API-SECRET-KEY": "s"}


def test_alpaca_trades_follow_the_page_token(monkeypatch):
    import orjson

    first = orjson.loads(payload("alpaca/rest_trades_multi.json"))
    second = {"trades": {"AAPL": [{"t": "2021-02-06T13:10:00Z", "x": "C", "p": 387.7, "s": 5, "c": [], "i": 1,
                                   "z": "B"}]}, "next_page_token": None}
    calls = fake_get(monkeypatch, "alpaca", [first, second])
    trades = AlpacaProvider().fetch_trades(["AAPL"], ts("2021-02-06T13:00:00"), ts("2021-02-06T14:00:00"))
    assert [t.price for t in trades] == [387.62, 387.69, 387.7]
    assert calls[1][2]["page_token"] == first["next_page_token"]


def test_alpaca_assets_keep_us_equities(monkeypatch):
    import orjson

    fake_get(monkeypatch, "alpaca", [orjson.loads(payload("alpaca/assets.json"))])
    symbols = AlpacaProvider().fetch_symbols()
    assert [(s.symbol, s.exchange, s.status) for s in symbols] == [("AAPL", "NASDAQ", "active"),
                                                                   ("TWTR", "NYSE", "delisted")]
    assert symbols[0].name == "Apple Inc. Common Stock"


# ----------------------------------------------------------------------------- Finnhub
def test_finnhub_trades_become_ticks():
    ticks = FinnhubProvider().normalize(payload("finnhub/ws_trade.json"))
    assert ticks[0] == Tick("TSLA", 122.1, 1672348887.195, 1)
    assert [t.symbol for t in ticks] == ["TSLA", "TSLA", "AAPL", "AAPL"]
    assert ticks[-1].size == 100


def test_finnhub_ping_and_error():
    provider = FinnhubProvider()
    assert provider.normalize(payload("finnhub/ws_ping.json")) == []
    assert provider.decode(payload("finnhub/ws_error.json")).errors == ["Subscribing to too many symbols"]


def test_finnhub_bad_trades_are_dropped_and_counted():
    decoded = FinnhubProvider().decode(payload("finnhub/ws_trade_mixed_bad.json"))
    assert [t.price for t in decoded.ticks] == [129.58, 129.61]  # a trade without volume is still a price
    assert decoded.dropped == 3


@pytest.mark.parametrize("raw", [b"[]", b'{"type": "news"}', b'{"type": "trade", "data": {}}', b"nope"])
def test_finnhub_unreadable_frames_raise_malformed(raw):
    with pytest.raises(MalformedMessage):
        FinnhubProvider().decode(raw)


def test_finnhub_subscribes_symbol_by_symbol_with_the_token_in_the_url():
    provider = FinnhubProvider(key="abc")
    assert provider.ws_url() == "wss://ws.finnhub.io?token=abc"
    assert provider.on_open_messages(["AAPL", "MSFT"]) == ['{"type":"subscribe","symbol":"AAPL"}',
                                                           '{"type":"subscribe","symbol":"MSFT"}']


def test_finnhub_candles_symbols_and_profile(monkeypatch):
    import orjson

    fake_get(monkeypatch, "finnhub", [orjson.loads(payload("finnhub/candle_ok.json")),
                                      orjson.loads(payload("finnhub/candle_no_data.json")),
                                      orjson.loads(payload("finnhub/symbols.json")),
                                      orjson.loads(payload("finnhub/profile2.json"))])
    provider = FinnhubProvider(key="abc")
    bars = provider.fetch_bars("AAPL", 1569297600, 1569470401, "1d")
    assert bars[0] == Bar("AAPL", 1569297600.0, 221.03, 222.49, 217.19, 217.68, 33463820)
    assert len(bars) == 3
    assert provider.fetch_bars("AAPL", 0, 60) == []
    assert [s.symbol for s in provider.fetch_symbols()] == ["AAPL", "SPY"]  # the warrant is left out
    profile = provider.fetch_profile("AAPL")
    assert (profile.sector, profile.ipo_date, profile.market_cap) == ("Technology", date(1980, 12, 12),
                                                                      3_418_000_250_000)


# ----------------------------------------------------------------------------- selection
@pytest.mark.parametrize("name, cls", [("simulator", "SimulatorProvider"), ("replay", "ReplayProvider"),
                                       ("alpaca", "AlpacaProvider"), ("finnhub", "FinnhubProvider")])
def test_get_provider_follows_the_setting(settings, name, cls):
    settings.MARKET_DATA_PROVIDER = name
    settings.MARKET_DATA_WS_URL = settings.MARKET_DATA_REST_URL = ""
    provider = get_provider()
    assert type(provider).__name__ == cls and provider.name == name


def test_simulator_provider_points_at_the_local_simulator(settings):
    settings.MARKET_DATA_WS_URL = settings.MARKET_DATA_REST_URL = ""
    settings.EXCHANGE_SIM_HOST, settings.EXCHANGE_SIM_PORT = "127.0.0.1", 8499
    provider = get_provider("simulator")
    assert provider.ws_url() == "ws://127.0.0.1:8499/v2/sim"
    assert provider.data_url == provider.trading_url == "http://127.0.0.1:8499"


class ScriptedSocket:
    """A websocket-client stand-in that replays server frames and records what was sent."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.sent = []

    def send(self, message):
        self.sent.append(message)

    def recv(self):
        return self.replies.pop(0)


def test_alpaca_handshake_subscribes_only_after_authentication():
    ws = ScriptedSocket([payload("alpaca/stream_welcome.json"), payload("alpaca/stream_authenticated.json")])
    AlpacaProvider(key="k", secret="s").handshake(ws, ["AAPL"])
    assert [m.split(",")[0] for m in ws.sent] == ['{"action":"auth"', '{"action":"subscribe"']


def test_alpaca_refused_authentication_is_a_provider_error():
    from apps.providers.base import ProviderError

    ws = ScriptedSocket([payload("alpaca/stream_welcome.json"), payload("alpaca/stream_auth_failed.json")])
    with pytest.raises(ProviderError, match="402 auth failed"):
        AlpacaProvider(key="k", secret="bad").handshake(ws, ["AAPL"])
    assert len(ws.sent) == 1  # never subscribed
