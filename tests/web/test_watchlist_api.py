"""GET/POST/DELETE /api/v1/me/watchlist/: the pages' watchlist for mobile clients."""
from __future__ import annotations

import pytest

from apps.web.models import Watchlist
from tests.support import factories

pytestmark = pytest.mark.django_db
URL = "/api/v1/me/watchlist/"


def test_watch_list_and_unwatch(player_client, player, stocks):
    factories.write_quotes({"AAPL": 230.5}, spread=0.01)
    created = player_client.post(URL, {"symbol": "aapl"}, format="json")
    assert created.status_code == 201
    assert created.json()["stock"]["symbol"] == "AAPL" and created.json()["stock"]["quote"]["price"] == 230.5
    again = player_client.post(URL, {"symbol": "AAPL"}, format="json")
    assert again.status_code == 200 and Watchlist.objects.filter(user=player).count() == 1
    player_client.post(URL, {"symbol": "MSFT"}, format="json")

    listed = player_client.get(URL).json()
    assert listed["count"] == 2
    assert [item["stock"]["symbol"] for item in listed["results"]] == ["AAPL", "MSFT"]
    assert listed["results"][1]["stock"]["quote"] is None and listed["results"][0]["added_at"]

    assert player_client.delete(f"{URL}AAPL/").status_code == 204
    assert player_client.delete(f"{URL}AAPL/").status_code == 204  # not watched any more: still done
    assert list(Watchlist.objects.filter(user=player).values_list("stock__symbol", flat=True)) == ["MSFT"]


def test_refusals_in_the_error_shape(player_client, api_client, stocks):
    unknown = player_client.post(URL, {"symbol": "NOPE"}, format="json")
    assert unknown.status_code == 400
    assert unknown.json()["error"]["fields"] == {"symbol": ["No stock with the symbol 'NOPE'."]}
    assert player_client.post(URL, {}, format="json").json()["error"]["fields"]["symbol"]
    assert player_client.delete(f"{URL}NOPE/").json()["error"]["code"] == "not_found"
    api_client.force_authenticate(None)
    assert api_client.get(URL).status_code == 401
    assert not Watchlist.objects.exists()
