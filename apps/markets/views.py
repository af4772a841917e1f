"""Market pages: the list, a market (live chart, trade ticket, your positions and stops), the
profit leaderboard. The ticket's preview and the trades go through the API (static/js/markets.js):
the page computes no price of its own."""
from __future__ import annotations

from decimal import Decimal

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from apps.markets import errors, selectors
from apps.markets.models import Market
from apps.markets.state import probabilities

TABS = ("open", "closed", "resolved", "cancelled")


def _outcomes(market: Market) -> list[dict]:
    return [{"index": i, "label": label, "prob": p, "pct": (p * 100).quantize(Decimal("0.1"))}
            for i, (label, p) in enumerate(zip(market.outcomes, probabilities(market)))]


def market_list(request: HttpRequest) -> HttpResponse:
    tab = request.GET.get("state", "open")
    if tab not in TABS:
        tab = "open"
    markets = list(selectors.markets_list(state=tab)[:100])
    rows = [{"market": m, "outcomes": _outcomes(m),
             "resolved": m.outcomes[m.resolution] if m.resolution is not None else None} for m in markets]
    return render(request, "markets/list.html", {"rows": rows, "tab": tab, "tabs": TABS})


def _market_or_404(market_id: int) -> Market:
    try:
        return selectors.market_get(market_id)
    except errors.MarketRefused:
        raise Http404("No such market") from None


def market_detail(request: HttpRequest, market_id: int) -> HttpResponse:
    market = _market_or_404(market_id)
    context = {
        "market": market, "resolved": market.outcomes[market.resolution] if market.resolution is not None else None, "outcomes": _outcomes(market), "history": selectors.market_history(market),
        "tape": [{"trade": t, "label": market.outcomes[t.outcome] if t.outcome is not None else ""}
                 for t in selectors.recent_trades(market, limit=20)], "can_trade": market.state == Market.State.OPEN,
        "sigmoid": market.mechanism == Market.Mechanism.SIGMOID,
    }
    return render(request, "markets/detail.html", context)


def market_mine(request: HttpRequest, market_id: int) -> HttpResponse:
    """The signed-in player's positions and stops in one market (reloaded after each trade)."""
    market = _market_or_404(market_id)
    positions, stops = [], []
    if request.user.is_authenticated:
        positions = selectors.positions_of_user(user_id=request.user.pk, market_id=market.pk)
        stops = [{"stop": s, "label": market.outcomes[s.outcome]}
                 for s in selectors.stops_of_user(user_id=request.user.pk, market_id=market.pk)]
    return render(request, "markets/partials/mine.html",
                  {"market": market, "positions": positions, "stops": stops,
                   "can_trade": market.state == Market.State.OPEN})


def leaderboard(request: HttpRequest) -> HttpResponse:
    return render(request, "markets/leaderboard.html", {"rows": selectors.profit_leaderboard()})
