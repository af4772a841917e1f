"""The stock portal: search and filter, one stock with its live chart, and the watchlist."""
import json

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from apps.web.selectors.stocks import (CHART_LOOKBACK, ORDERINGS, PERFORMANCE, stock_default_interval, stock_get,
                                       stock_rows, stock_search, stock_sectors, stock_upcoming_races, watchlist_rows)
from apps.web.services import watchlist_toggle

TIMEFRAMES = ["1m", "5m", "15m", "1h", "1d", "1w", "1M"]


def _filters(request) -> dict:
    get = request.GET
    performance = get.get("performance", "")
    ordering = get.get("ordering", "symbol")
    return {"q": get.get("q", "").strip()[:60], "sector": get.get("sector", "")[:64],
            "performance": performance if performance in PERFORMANCE else "",
            "ordering": ordering if ordering in ORDERINGS else "symbol"}


@require_GET
def stock_list(request):
    filters = _filters(request)
    rows = stock_search(**filters, user=request.user)
    template = "web/partials/stock_rows.html" if request.htmx else "web/stocks.html"
    return render(request, template, {"rows": rows, "filters": filters, "sectors": stock_sectors(),
                                      "performances": PERFORMANCE, "orderings": ORDERINGS})


@require_GET
def stock_detail(request, symbol: str):
    stock = stock_get(symbol=symbol)
    if stock.symbol != symbol:
        return redirect("stock_detail", symbol=stock.symbol)  # lower case, or a ticker before a rename
    row = stock_rows([stock], user=request.user)[0]
    return render(request, "web/stock.html", {"stock": stock, "row": row, "timeframes": TIMEFRAMES,
                                              "interval": stock_default_interval(stock=stock),
                                              "lookback": json.dumps(CHART_LOOKBACK),
                                              "races": stock_upcoming_races(stock=stock)})


@login_required
@require_POST
def watch_toggle(request, symbol: str):
    stock = stock_get(symbol=symbol)
    watched = watchlist_toggle(user=request.user, stock=stock)
    if request.htmx:
        return render(request, "web/partials/watch_button.html", {"stock": stock, "watched": watched})
    return redirect("stock_detail", symbol=stock.symbol)


@login_required
@require_GET
def watchlist(request):
    return render(request, "web/watchlist.html", {"items": watchlist_rows(user=request.user)})
