"""The main nav: every link opens for a signed-in player and marks itself as the current page;
the trading floor's Portfolio is there for players (its pages need a login), not for visitors."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db
NAV = re.compile(r'<nav class="nav" aria-label="Main">(.*?)</nav>', re.S)
LINK = re.compile(r'<a href="([^"]+)"( aria-current="page")?>([^<]+)</a>')


def nav_links(html: str) -> list[tuple[str, bool, str]]:
    (nav,) = NAV.findall(html)
    return [(href, bool(current), text) for href, current, text in LINK.findall(nav)]


def test_every_nav_link_opens_and_marks_itself_current(logged_in, stocks):
    links = nav_links(logged_in.get("/").content.decode())
    assert [text for _, _, text in links] == ["Races", "Stocks", "Markets", "Leaderboards", "Portfolio", "Watchlist"]
    for href, _, text in links:
        response = logged_in.get(href)
        assert response.status_code == 200, href
        current = [t for _, is_current, t in nav_links(response.content.decode()) if is_current]
        assert current == [text], href
    assert [t for _, c, t in nav_links(logged_in.get("/orders/").content.decode()) if c] == ["Portfolio"]


def test_visitors_see_no_portfolio_link(client, stocks):
    texts = [text for _, _, text in nav_links(client.get("/").content.decode())]
    assert "Portfolio" not in texts and "Markets" in texts
