"""The trading API is in the OpenAPI schema, with its error answers."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_every_trading_endpoint_is_documented_with_its_errors(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    expected = {
        "/api/v1/orders/": {"post": {"201", "400", "409"}, "get": {"200"}},
        "/api/v1/orders/preview/": {"post": {"200", "400"}},
        "/api/v1/orders/{order_id}/": {"delete": {"200", "404", "409"}, "get": {"200", "404"}},
        "/api/v1/portfolio/": {"get": {"200"}},
        "/api/v1/portfolio/watch/": {"post": {"200"}},
        "/api/v1/portfolio/history/": {"get": {"200"}},
        "/api/v1/trades/": {"get": {"200", "400"}},
        "/api/v1/trades/export.csv": {"get": {"200", "400"}},
        "/api/v1/trading/leaderboard/": {"get": {"200", "400"}},
    }
    for path, methods in expected.items():
        assert path in paths, path
        for method, codes in methods.items():
            documented = set(paths[path][method]["responses"])
            assert codes <= documented, (path, method, documented)
    post = paths["/api/v1/orders/"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in post["parameters"])
    assert "symbol_locked" in post["responses"]["409"]["description"]
