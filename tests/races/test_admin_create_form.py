"""The staff form that creates a race: starts in the past or too soon are refused, so are stocks
the feed does not carry, each with its reason; times are read in the staff member's zone."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model

from apps.core.redis import get_redis, redis_now, redis_now_ts
from apps.market.models import Stock
from apps.market.quotes import Quote, write_quote
from apps.races.models import Race

pytestmark = pytest.mark.django_db
URL = "/admin/races/race/create/"


def quote(*symbols: str, age: float = 0.0) -> None:
    client = get_redis()
    now = redis_now_ts(client) - age
    pipe = client.pipeline()
    for symbol in symbols:
        write_quote(pipe, Quote(symbol=symbol, price=100.0, bid=99.99, ask=100.01, volume=1, ts=now, recv=now))
    pipe.execute()


@pytest.fixture
def staff_client(client):
    staff = get_user_model().objects.create_user(username="staffer", password="x", is_staff=True, is_superuser=True)
    client.force_login(staff)
    return client


@pytest.fixture
def stocks(db):
    made = {s: Stock.objects.create(symbol=s, name=f"{s} Inc.", sector="Technology") for s in ("AAA", "BBB", "CCC")}
    made["GLD"] = Stock.objects.create(symbol="GLD", name="GLD", sector="", is_imported=True)
    quote("AAA", "BBB", "CCC")
    return made


def form_data(universe, **overrides) -> dict:
    data = {"title": "Staff pick", "theme": "custom", "stocks": [universe[s].pk for s in ("AAA", "BBB", "CCC")],
            "stock_count": 5, "duration": "15m", "start_in_minutes": "", "starts_at": "",
            "betting_window_seconds": 300, "session": "auto", "tz": ""}
    data.update(overrides)
    return data


def errors(response) -> str:
    form = response.context["form"]
    return " ".join(str(m) for messages in form.errors.values() for m in messages)


def test_start_in_minutes_creates_the_race_with_its_window(staff_client, stocks):
    before = redis_now()
    response = staff_client.post(URL, form_data(stocks, start_in_minutes=10))
    assert response.status_code == 302, errors(response)
    race = Race.objects.get(title="Staff pick")
    assert timedelta(minutes=10) <= race.starts_at - before < timedelta(minutes=10, seconds=30)
    assert race.starts_at - race.betting_opens_at == timedelta(seconds=300)


def test_a_start_in_the_past_is_refused_with_its_reason(staff_client, stocks):
    past = (redis_now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = staff_client.post(URL, form_data(stocks, starts_at=past))
    assert response.status_code == 200
    assert "That start is in the past" in errors(response)
    assert not Race.objects.exists()


def test_a_start_too_soon_for_the_betting_window_is_refused(staff_client, stocks):
    response = staff_client.post(URL, form_data(stocks, start_in_minutes=2))
    assert response.status_code == 200
    message = errors(response)
    assert "leaves 2 minutes to bet, less than the betting window of 5 minutes" in message
    assert "or shorten the window" in message
    assert not Race.objects.exists()
    # The same start with a shorter window fits.
    assert staff_client.post(URL, form_data(stocks, start_in_minutes=2, betting_window_seconds=60)).status_code == 302


def test_the_start_is_read_in_the_staff_members_zone(staff_client, stocks):
    paris = ZoneInfo("Europe/Paris")
    wall = (redis_now() + timedelta(days=2)).astimezone(paris).replace(second=0, microsecond=0)
    response = staff_client.post(URL, form_data(stocks, starts_at=wall.strftime("%Y-%m-%dT%H:%M"), tz="Europe/Paris"))
    assert response.status_code == 302, errors(response)
    assert Race.objects.get().starts_at == wall
    # Its refusals speak the same zone.
    past = (redis_now() - timedelta(hours=3)).astimezone(paris)
    response = staff_client.post(URL, form_data(stocks, starts_at=past.strftime("%Y-%m-%dT%H:%M"), tz="Europe/Paris"))
    assert f"{past:%Y-%m-%d %H:%M} (Europe/Paris)" in errors(response)


def test_a_stock_without_a_feed_is_refused_saying_why(staff_client, stocks):
    picks = [stocks[s].pk for s in ("AAA", "BBB", "GLD")]
    response = staff_client.post(URL, form_data(stocks, stocks=picks, start_in_minutes=30))
    assert response.status_code == 200
    assert "GLD has no live quote: the market-data feed does not carry it" in errors(response)
    assert not Race.objects.exists()


def test_both_or_neither_start_is_refused(staff_client, stocks):
    response = staff_client.post(URL, form_data(stocks))
    assert "Give a start time, or a number of minutes from now." in errors(response)
    later = (redis_now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = staff_client.post(URL, form_data(stocks, starts_at=later, start_in_minutes=30))
    assert "not both" in errors(response)


def test_the_form_searches_stocks_and_picks_dates(staff_client, stocks):
    html = staff_client.get(URL).content.decode()
    assert 'type="datetime-local"' in html and 'name="tz"' in html
    assert "admin-autocomplete" in html and "js/admin_race_create.js" in html
    # The search behind the stock picker answers.
    found = staff_client.get("/admin/autocomplete/", {"app_label": "races", "model_name": "raceentry",
                                                     "field_name": "stock", "term": "AA"}).json()
    assert [r["text"] for r in found["results"]] == ["AAA"]


def test_theme_choices_have_no_empty_sector(staff_client, stocks):
    html = staff_client.get(URL).content.decode()
    assert 'value="sector:Technology"' in html and 'value="sector:"' not in html
