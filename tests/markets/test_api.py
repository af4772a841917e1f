"""The markets API: create (staff), list and detail with the mechanism's state, quote == trade,
trades with Idempotency-Key, positions, stops, resolve and cancel, and bad input as 4xx in the
one error shape with nothing written."""
from __future__ import annotations

from datetime import timedelta

import pytest

from apps.core.redis import redis_now
from apps.markets.models import Market, MarketTrade, Position, Stop
from apps.points.models import LedgerEntry
from tests.markets.conftest import make_market
from tests.support.factories import RaceFactory
from tests.support.ledger import balance_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(api_client, staff):
    api_client.force_authenticate(staff)
    return api_client


@pytest.fixture
def alice_client(alice):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(alice)
    return client


def closes_at(hours: int = 3) -> str:
    return (redis_now() + timedelta(hours=hours)).isoformat()


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}, body
    return body["error"]


def nothing_written() -> tuple:
    return Market.objects.count(), MarketTrade.objects.count(), Position.objects.count(), LedgerEntry.objects.count()


@pytest.mark.parametrize("body,fields", [
    ({"kind": "binary", "mechanism": "cpmm", "liquidity": "250", "initial_probability": "0.3"}, {"pool", "p"}),
    ({"kind": "multi", "mechanism": "lmsr", "outcomes": ["AAPL", "MSFT", "NVDA"], "b": "40"}, {"q", "b"}),
    ({"kind": "binary", "mechanism": "sigmoid", "curve": {"p_min": "0.05", "p_max": "0.95", "k": "8", "x0": "0.5",
                                                          "max_shares": "1000"}}, {"supply"}),
])
def test_staff_create_and_the_detail_shows_the_mechanism_state(staff_client, body, fields):
    response = staff_client.post("/api/v1/markets/", {"question": "Will it happen today?", "closes_at": closes_at(),
                                                      **body}, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    detail = staff_client.get(f"/api/v1/markets/{created['id']}/").json()
    assert {k for k in ("pool", "p", "q", "b", "supply") if detail[k] is not None} == fields
    assert len(detail["probabilities"]) == len(detail["outcomes"])
    if body["mechanism"] == "cpmm":
        assert detail["pool"] == {"YES": "250.000000000000000000", "NO": "250.000000000000000000"}
        assert detail["probabilities"][0] == "0.300000000000000000" and detail["subsidy"] == "250.000000000000000000"
    if body["mechanism"] == "lmsr":
        assert detail["q"] == ["0E-18"] * 3 or all(float(x) == 0 for x in detail["q"])
        assert float(detail["subsidy"]) == pytest.approx(40 * 1.0986122886681098)  # b·ln 3
    listed = staff_client.get("/api/v1/markets/?state=open").json()
    assert [m["id"] for m in listed["results"]] == [created["id"]]


@pytest.mark.parametrize("body", [
    {"kind": "binary", "mechanism": "cpmm"},  # no liquidity
    {"kind": "binary", "mechanism": "cpmm", "liquidity": "100", "initial_probability": "0.995"},
    {"kind": "multi", "mechanism": "cpmm", "liquidity": "100"},
    {"kind": "multi", "mechanism": "lmsr", "outcomes": ["A"], "b": "10"},
    {"kind": "multi", "mechanism": "lmsr", "outcomes": ["A", "A"], "b": "10"},
    {"kind": "binary", "mechanism": "lmsr", "b": "-1"},
    {"kind": "binary", "mechanism": "sigmoid", "curve": {"p_min": "0.9", "p_max": "0.1", "max_shares": "10"}},
    {"kind": "binary", "mechanism": "sigmoid"},
    {"kind": "binary", "mechanism": "cpmm", "liquidity": "100", "resolves_by": {"type": "race_winner", "race": 99}},
    {"kind": "binary", "mechanism": "cpmm", "liquidity": "100", "resolves_by": {"type": "price", "symbol": "NOPE",
                                                                               "above": "1"}},
    {"kind": "binary", "mechanism": "cpmm", "liquidity": "100", "closes_at": "2001-01-01T00:00:00Z"},
    {"kind": "trinary", "mechanism": "cpmm", "liquidity": "100"},
])
def test_bad_creates_are_400_with_nothing_written(staff_client, body):
    before = nothing_written()
    response = staff_client.post("/api/v1/markets/", {"question": "Will it happen?", "closes_at": closes_at(), **body},
                                 format="json")
    assert response.status_code == 400, response.json()
    assert error_of(response)["code"] in ("invalid", "unknown_outcome")
    assert nothing_written() == before


def test_non_staff_cannot_create(alice_client, api_client):
    body = {"question": "Will it happen?", "kind": "binary", "mechanism": "cpmm", "liquidity": "100",
            "closes_at": closes_at()}
    before = nothing_written()
    assert alice_client.post("/api/v1/markets/", body, format="json").status_code == 403
    assert api_client.post("/api/v1/markets/", body, format="json").status_code in (401, 403)
    assert nothing_written() == before


def test_race_winner_market_takes_the_race_s_stocks(staff_client):
    race = RaceFactory(state="open", symbols=["AAA", "BBB", "CCC", "DDD"], duration="1h")
    response = staff_client.post("/api/v1/markets/", {
        "question": f"Which stock wins race {race.pk}?", "kind": "multi", "mechanism": "lmsr", "b": "30",
        "closes_at": race.starts_at.isoformat(), "resolves_by": {"type": "race_winner", "race": race.pk}},
        format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["outcomes"] == ["AAA", "BBB", "CCC", "DDD"] and response.json()["race"] == race.pk


def test_quote_is_what_the_trade_executes(alice_client, alice):
    market = make_market(fee_pct="1.67")
    for order in ({"outcome": 0, "side": "buy", "amount": 37}, {"outcome": 1, "side": "buy", "shares": "12.5"}):
        quote = alice_client.post(f"/api/v1/markets/{market.pk}/quote/", order, format="json")
        assert quote.status_code == 200, quote.json()
        trade = alice_client.post(f"/api/v1/markets/{market.pk}/trades/", order, format="json")
        assert trade.status_code == 201, trade.json()
        executed = trade.json()
        for field in ("shares", "cost", "cost_exact", "fee", "avg_price", "prob_before", "prob_after", "cash",
                      "probabilities_after", "position_after"):
            assert executed[field] == quote.json()[field], field
    assert balance_of(alice) == 1000 + sum(t.cash for t in MarketTrade.objects.filter(user=alice))


def test_trade_answers_and_idempotency_key(alice_client, alice):
    market = make_market()
    url = f"/api/v1/markets/{market.pk}/trades/"
    first = alice_client.post(url, {"outcome": 0, "side": "buy", "amount": 10}, format="json",
                              HTTP_IDEMPOTENCY_KEY="abc")
    assert first.status_code == 201
    body = first.json()
    assert body["shares"].startswith("19.0909090909") and body["cost"] == 10 and body["fee"] == 0
    assert body["prob_before"] == "0.500000000000000000" and body["prob_after"].startswith("0.547511")
    again = alice_client.post(url, {"outcome": 0, "side": "buy", "amount": 10}, format="json",
                              HTTP_IDEMPOTENCY_KEY="abc")
    assert again.status_code == 200 and again.json()["id"] == body["id"] and again.json()["replayed"]
    other = alice_client.post(url, {"outcome": 0, "side": "buy", "amount": 11}, format="json",
                              HTTP_IDEMPOTENCY_KEY="abc")
    assert other.status_code == 422 and error_of(other)["code"] == "idempotency_key_reused"
    assert balance_of(alice) == 990
    positions = alice_client.get("/api/v1/me/positions/").json()
    assert [(p["market"], p["label"]) for p in positions] == [(market.pk, "YES")]
    tape = alice_client.get(url).json()
    assert [t["seq"] for t in tape] == [1]


@pytest.mark.parametrize("body,status,code", [
    ({"outcome": 7, "side": "buy", "amount": 10}, 400, "unknown_outcome"),
    ({"outcome": 0, "side": "buy", "amount": 0}, 400, "invalid"),
    ({"outcome": 0, "side": "buy", "amount": -3}, 400, "invalid"),
    ({"outcome": 0, "side": "buy", "shares": "-1"}, 400, "invalid"),
    ({"outcome": 0, "side": "hold", "amount": 3}, 400, "invalid"),
    ({"outcome": 0, "side": "buy", "amount": "ten"}, 400, "invalid"),
    ({"outcome": 0, "side": "sell", "shares": "3"}, 409, "insufficient_shares"),
    (["not", "an", "object"], 400, "invalid"),
])
def test_bad_trades_are_4xx_with_nothing_written(alice_client, body, status, code):
    market = make_market()
    before = nothing_written()
    response = alice_client.post(f"/api/v1/markets/{market.pk}/trades/", body, format="json")
    assert response.status_code == status, response.json()
    assert error_of(response)["code"] == code
    assert nothing_written() == before
    assert alice_client.post(f"/api/v1/markets/{market.pk}/quote/", body, format="json").status_code == status


def test_trade_on_a_closed_or_unknown_market(alice_client):
    market = make_market()
    Market.objects.filter(pk=market.pk).update(closes_at=redis_now() - timedelta(seconds=1))
    before = nothing_written()
    response = alice_client.post(f"/api/v1/markets/{market.pk}/trades/", {"outcome": 0, "side": "buy", "amount": 5},
                                 format="json")
    assert response.status_code == 409 and error_of(response)["code"] == "market_closed"
    missing = alice_client.post("/api/v1/markets/999999/trades/", {"outcome": 0, "side": "buy", "amount": 5},
                                format="json")
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"
    assert nothing_written() == before


def test_anonymous_may_quote_but_not_trade(api_client):
    market = make_market()
    assert api_client.post(f"/api/v1/markets/{market.pk}/quote/", {"outcome": 0, "side": "buy", "amount": 5},
                           format="json").status_code == 200
    response = api_client.post(f"/api/v1/markets/{market.pk}/trades/", {"outcome": 0, "side": "buy", "amount": 5},
                               format="json")
    assert response.status_code == 401 and error_of(response)


def test_stops_through_the_api(alice_client, alice):
    market = make_market()
    url = f"/api/v1/markets/{market.pk}/stops/"
    refused = alice_client.post(url, {"outcome": 0, "trigger": "0.4"}, format="json")
    assert refused.status_code == 409 and error_of(refused)["code"] == "no_position"
    alice_client.post(f"/api/v1/markets/{market.pk}/trades/", {"outcome": 0, "side": "buy", "amount": 20},
                      format="json")
    created = alice_client.post(url, {"outcome": 0, "trigger": "0.4"}, format="json")
    assert created.status_code == 201 and created.json()["direction"] == "below"
    assert [s["id"] for s in alice_client.get(url).json()] == [created.json()["id"]]
    assert alice_client.delete(f"{url}{created.json()['id']}/").status_code == 204
    assert alice_client.delete(f"{url}{created.json()['id']}/").status_code == 404
    assert Stop.objects.get().state == "cancelled"


def test_staff_resolve_and_cancel(staff_client, alice_client, alice):
    market = make_market()
    alice_client.post(f"/api/v1/markets/{market.pk}/trades/", {"outcome": 0, "side": "buy", "amount": 20},
                      format="json")
    assert alice_client.post(f"/api/v1/markets/{market.pk}/resolve/", {"outcome": 0, "reason": "x"},
                             format="json").status_code == 403
    no_reason = staff_client.post(f"/api/v1/markets/{market.pk}/resolve/", {"outcome": 0}, format="json")
    assert no_reason.status_code == 400 and error_of(no_reason)["code"] == "invalid"
    resolved = staff_client.post(f"/api/v1/markets/{market.pk}/resolve/", {"outcome": 0, "reason": "it did"},
                                 format="json")
    assert resolved.json() == {"state": "resolved", "points": 36}
    again = staff_client.post(f"/api/v1/markets/{market.pk}/resolve/", {"outcome": 0, "reason": "it did"},
                              format="json")
    assert again.json() == {"state": "resolved", "points": None}
    assert balance_of(alice) == 1000 - 20 + 36
    other = make_market()
    cancelled = staff_client.post(f"/api/v1/markets/{other.pk}/cancel/", {"reason": "duplicate"}, format="json")
    assert cancelled.json() == {"state": "cancelled", "points": 0}


def test_history_and_leaderboard(api_client, alice_client, staff_client, alice):
    market = make_market()
    alice_client.post(f"/api/v1/markets/{market.pk}/trades/", {"outcome": 0, "side": "buy", "amount": 20},
                      format="json")
    history = api_client.get(f"/api/v1/markets/{market.pk}/history/").json()
    assert len(history) == 2 and history[0]["p"] == [0.5, 0.5] and history[1]["p"][0] > 0.5
    staff_client.post(f"/api/v1/markets/{market.pk}/resolve/", {"outcome": 0, "reason": "yes"}, format="json")
    from tests.support.factories import UserFactory

    house = UserFactory(house=True, balance=500)
    from apps.markets.services import market_trade, parse_order

    second = make_market()
    market_trade(user_id=house.pk, market_id=second.pk, order=parse_order(outcome=0, side="buy", amount=50))
    staff_client.post(f"/api/v1/markets/{second.pk}/resolve/", {"outcome": 0, "reason": "yes"}, format="json")
    restricted = UserFactory(balance=500, is_shadow_restricted=True)
    third = make_market()
    market_trade(user_id=restricted.pk, market_id=third.pk, order=parse_order(outcome=0, side="buy", amount=50))
    staff_client.post(f"/api/v1/markets/{third.pk}/resolve/", {"outcome": 0, "reason": "yes"}, format="json")
    board = api_client.get("/api/v1/markets/leaderboard/").json()
    # Neither the house nor the restricted player is ranked, though both won more than alice.
    assert board == [{"rank": 1, "user_id": alice.pk, "username": "alice", "profit": 16}]


def test_the_schema_documents_every_endpoint_and_its_errors(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    for path, method, codes in [
        ("/api/v1/markets/", "post", {"201", "400", "401", "403"}),
        ("/api/v1/markets/", "get", {"200"}),
        ("/api/v1/markets/{market_id}/", "get", {"200", "404"}),
        ("/api/v1/markets/{market_id}/quote/", "post", {"200", "400", "404", "409"}),
        ("/api/v1/markets/{market_id}/trades/", "post", {"201", "400", "401", "404", "409", "422"}),
        ("/api/v1/markets/{market_id}/stops/", "post", {"201", "400", "401", "409"}),
        ("/api/v1/me/positions/", "get", {"200", "401"}),
    ]:
        assert codes <= set(paths[path][method]["responses"]), (path, method)
    trade = paths["/api/v1/markets/{market_id}/trades/"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in trade["parameters"])
