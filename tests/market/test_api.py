"""Market API: stocks, quotes and candles, every refusal in the error shape."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import redis as redis_lib

from apps.core.redis import redis_now_ts
from apps.market import indicators
from apps.market.models import Candle
from apps.market.quotes import Quote, write_quote

pytestmark = pytest.mark.django_db
T0 = datetime(2019, 2, 11, 14, 30, tzinfo=timezone.utc)


@pytest.fixture
def universe(make_stock):
    return {
        "AAPL": make_stock("AAPL", name="Apple Inc.", sector="Technology", industry="Consumer Electronics",
                           market_cap=3_400_000_000_000, reference_price=Decimal("200")),
        "NVDA": make_stock("NVDA", name="NVIDIA Corporation", sector="Technology", industry="Semiconductors",
                           market_cap=3_300_000_000_000, reference_price=Decimal("100")),
        "XOM": make_stock("XOM", name="Exxon Mobil", sector="Energy", market_cap=None, reference_price=Decimal("50")),
    }


def put_quote(client, symbol: str, price: float, recv: float | None = None) -> None:
    now = redis_now_ts(client)
    pipe = client.pipeline()
    write_quote(pipe, Quote(symbol=symbol, price=price, bid=price - 0.01, ask=price + 0.01, volume=1000,
                            ts=now, recv=now if recv is None else recv))
    pipe.execute()


def assert_error(response, status: int, field: str | None = None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "fields"} <= set(body["error"])
    if field:
        assert field in body["error"]["fields"], body
    return body["error"]


# ------------------------------------------------------------------ stocks


def test_list_is_paginated_and_carries_live_quotes(api_client, universe, redis_client):
    put_quote(redis_client, "AAPL", 210.0)
    body = api_client.get("/api/v1/stocks/?page_size=2").json()
    assert body["count"] == 3 and [s["symbol"] for s in body["results"]] == ["AAPL", "NVDA"]
    apple = body["results"][0]
    assert apple["quote"]["price"] == 210.0 and apple["quote"]["stale"] is False
    assert (apple["change"], apple["change_pct"]) == (10.0, 5.0)
    assert body["results"][1]["quote"] is None


def test_list_reads_in_two_queries(api_client, universe, django_assert_num_queries):
    with django_assert_num_queries(2):  # count + page
        assert api_client.get("/api/v1/stocks/").status_code == 200


def test_search_sector_and_orderings(api_client, universe, redis_client):
    get = lambda q: [s["symbol"] for s in api_client.get(f"/api/v1/stocks/?{q}").json()["results"]]  # noqa: E731
    assert get("search=apple") == ["AAPL"]
    assert get("search=semiconductor") == ["NVDA"]
    assert get("search=technology") == ["AAPL", "NVDA"]
    assert get("sector=energy") == ["XOM"]
    assert get("ordering=-symbol") == ["XOM", "NVDA", "AAPL"]
    assert get("ordering=-market_cap") == ["AAPL", "NVDA", "XOM"]  # unknown market cap last
    assert get("ordering=name") == ["AAPL", "XOM", "NVDA"]
    put_quote(redis_client, "AAPL", 190.0)  # -5 %
    put_quote(redis_client, "NVDA", 110.0)  # +10 %
    assert get("ordering=-change") == ["NVDA", "AAPL", "XOM"]  # no quote: last
    assert get("ordering=change") == ["AAPL", "NVDA", "XOM"]
    assert get("ordering=change&sector=Technology&page_size=1") == ["AAPL"]


def test_bad_list_parameters_are_400(api_client, universe):
    assert_error(api_client.get("/api/v1/stocks/?ordering=price"), 400, "ordering")
    assert_error(api_client.get("/api/v1/stocks/?search=" + "x" * 101), 400, "search")
    assert_error(api_client.get("/api/v1/stocks/?page=99"), 404)


def test_detail_has_metadata_and_the_latest_quote(api_client, universe, redis_client):
    put_quote(redis_client, "NVDA", 101.5, recv=redis_now_ts(redis_client) - 3600)
    body = api_client.get("/api/v1/stocks/nvda/").json()
    assert body["symbol"] == "NVDA" and body["industry"] == "Semiconductors"
    assert body["quote"]["price"] == 101.5 and body["quote"]["stale"] is True
    assert body["previous_close"] == 100.0 and body["former_symbols"] == []


def test_unknown_symbols_are_404(api_client, universe):
    assert_error(api_client.get("/api/v1/stocks/NOPE/"), 404)
    assert_error(api_client.get("/api/v1/stocks/%20%27x/"), 404)
    assert_error(api_client.get("/api/v1/stocks/NOPE/candles/"), 404)


# ------------------------------------------------------------------ quotes


class RoundTrips:
    def __init__(self, monkeypatch):
        self.pipelines = self.commands = 0
        original_execute, original_command = redis_lib.client.Pipeline.execute, redis_lib.Redis.execute_command

        def execute(pipe, *args, **kwargs):
            self.pipelines += 1
            return original_execute(pipe, *args, **kwargs)

        def command(client, *args, **kwargs):
            self.commands += 1
            return original_command(client, *args, **kwargs)

        monkeypatch.setattr(redis_lib.client.Pipeline, "execute", execute)
        monkeypatch.setattr(redis_lib.Redis, "execute_command", command)


def test_quotes_come_from_redis_in_one_round_trip(api_client, redis_client, monkeypatch, django_assert_num_queries):
    put_quote(redis_client, "AAPL", 210.0)
    put_quote(redis_client, "MSFT", 410.0)
    trips = RoundTrips(monkeypatch)
    with django_assert_num_queries(0):
        response = api_client.get("/api/v1/quotes/?symbols=aapl, MSFT,ZZZZ,AAPL")
    body = response.json()
    assert response.status_code == 200
    assert trips.pipelines + trips.commands == 1  # one command: every hash and the clock
    assert set(body["quotes"]) == {"AAPL", "MSFT"} and body["unknown"] == ["ZZZZ"]
    assert body["quotes"]["MSFT"]["price"] == 410.0 and body["quotes"]["MSFT"]["bid"] == 409.99


def test_a_corrupt_quote_reads_as_unknown(api_client, redis_client):
    redis_client.hset("quote:BAD", mapping={"price": "not-a-number"})
    assert api_client.get("/api/v1/quotes/?symbols=BAD").json()["unknown"] == ["BAD"]


@pytest.mark.parametrize("query", ["", "?symbols=", "?symbols=,,", "?symbols=AA PL", "?symbols=$$$",
                                   "?symbols=" + ",".join(f"S{i}" for i in range(101)),
                                   "?symbols=" + "A" * 17])
def test_bad_quote_requests_are_400(api_client, query):
    assert_error(api_client.get(f"/api/v1/quotes/{query}"), 400, "symbols")


# ------------------------------------------------------------------ candles


@pytest.fixture
def candles(universe):
    """60 daily-ish candles of AAPL, one a minute from T0, closes 100, 101, 99, 102, ..."""
    rows = []
    for i in range(60):
        close = 100.0 + (i % 7) - (i % 3) + i * 0.1
        start = T0 + timedelta(minutes=i)
        rows.append(Candle(stock=universe["AAPL"], interval="1m", start=start, open=close - 0.5, high=close + 1,
                           low=close - 1, close=close, volume=100 + i, open_ts=start, close_ts=start))
    Candle.objects.bulk_create(rows)
    return rows


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_candles_in_a_range_oldest_first(api_client, candles):
    start, end = T0 + timedelta(minutes=10), T0 + timedelta(minutes=20)
    body = api_client.get(f"/api/v1/stocks/AAPL/candles/?interval=1m&start={iso(start)}&end={iso(end)}").json()
    assert [c["close"] for c in body["candles"]] == [r.close for r in candles[10:20]]
    assert body["candles"][0]["start"].startswith("2019-02-11T14:40:00") and "indicators" not in body["candles"][0]
    assert body["interval"] == "1m" and body["indicators"] == []


def test_indicators_are_warmed_up_and_aligned_per_candle(api_client, candles):
    closes = [r.close for r in candles]
    start, end = T0 + timedelta(minutes=40), T0 + timedelta(minutes=60)
    body = api_client.get(f"/api/v1/stocks/AAPL/candles/?interval=1m&start={iso(start)}&end={iso(end)}"
                          "&indicators=sma:5,ema:3,rsi:14,macd:3:6:2,bbands:10:1.5,SMA:5").json()
    assert body["indicators"] == ["sma:5", "ema:3", "rsi:14", "macd:3:6:2", "bbands:10:1.5"]
    sma, rsi = indicators.sma(closes, 5), indicators.rsi(closes, 14)
    line, signal, hist = indicators.macd(closes, 3, 6, 2)
    upper, middle, lower = indicators.bbands(closes, 10, 1.5)
    for n, candle in enumerate(body["candles"], start=40):
        values = candle["indicators"]
        assert values["sma:5"] == pytest.approx(sma[n])
        assert values["rsi:14"] == pytest.approx(rsi[n])  # 40 earlier candles are all there is: same seed
        assert values["macd:3:6:2"] == pytest.approx({"macd": line[n], "signal": signal[n], "hist": hist[n]})
        assert values["bbands:10:1.5"] == pytest.approx({"upper": upper[n], "middle": middle[n], "lower": lower[n]})
    # An EMA over the warm-up window agrees with one over the whole history.
    assert body["candles"][0]["indicators"]["ema:3"] == pytest.approx(indicators.ema(closes, 3)[40], rel=1e-9)


def test_indicators_without_enough_history_are_null(api_client, candles):
    body = api_client.get(f"/api/v1/stocks/AAPL/candles/?interval=1m&start={iso(T0)}&end={iso(T0 + timedelta(minutes=5))}"
                          "&indicators=sma:3").json()
    assert [c["indicators"]["sma:3"] is None for c in body["candles"]] == [True, True, False, False, False]


def test_rollup_intervals_and_empty_ranges(api_client, candles):
    body = api_client.get("/api/v1/stocks/AAPL/candles/?interval=1h&start=2019-02-11&end=2019-02-12").json()
    assert body["candles"] == []  # the fixture wrote 1m candles only: nothing is invented


@pytest.mark.parametrize("query, field", [
    ("interval=2m", "interval"),
    ("interval=1M&start=2019-02-12T00:00:00Z&end=2019-02-11T00:00:00Z", "start"),
    ("start=2019-02-11T00:00:00Z&end=2019-02-11T00:00:00Z", "start"),
    ("start=yesterday", "start"),
    ("end=2019-02-31T00:00:00", "end"),
    ("interval=1m&start=2019-01-01T00:00:00Z&end=2019-03-01T00:00:00Z", "end"),
    ("end=0001-01-02T00:00:00Z", "end"),
    ("indicators=foo", "indicators"),
    ("indicators=sma:x", "indicators"),
    ("indicators=sma:0", "indicators"),
    ("indicators=sma:501", "indicators"),
    ("indicators=sma:5:6", "indicators"),
    ("indicators=bbands:20:-2", "indicators"),
    ("indicators=macd:26:12:9", "indicators"),
    ("indicators=" + ",".join(f"sma:{i}" for i in range(1, 10)), "indicators"),
])
def test_bad_candle_requests_are_400(api_client, universe, query, field):
    assert_error(api_client.get(f"/api/v1/stocks/AAPL/candles/?{query}"), 400, field)


def test_schema_documents_the_market_endpoints(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    for path in ("/api/v1/stocks/", "/api/v1/stocks/{symbol}/", "/api/v1/stocks/{symbol}/candles/", "/api/v1/quotes/"):
        assert "get" in schema["paths"][path]
    params = {p["name"] for p in schema["paths"]["/api/v1/stocks/{symbol}/candles/"]["get"]["parameters"]}
    assert {"interval", "start", "end", "indicators"} <= params


def test_candles_default_to_daily_up_to_now(api_client, universe):
    from datetime import datetime as dt

    start = dt.now(timezone.utc).replace(hour=14, minute=30, second=0, microsecond=0) - timedelta(days=3)
    Candle.objects.create(stock=universe["AAPL"], interval="1d", start=start, open=1, high=2, low=0.5, close=1.5,
                          volume=10, open_ts=start, close_ts=start)
    body = api_client.get("/api/v1/stocks/aapl/candles/").json()
    assert body["interval"] == "1d" and [c["close"] for c in body["candles"]] == [1.5]
