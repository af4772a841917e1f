"""The trading pages (htmx): the trade ticket on every stock page, the portfolio with live P&L,
the orders page, the trade history and the returns leaderboard. Views parse the request and
call services and selectors; the ticket's preview is ``services.order_preview``, which computes
with the same function the fill uses."""
from __future__ import annotations

import uuid

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from apps.core.api import ApiError
from apps.trading import leaderboard, selectors, services
from apps.trading.models import Order
from apps.trading.rules import OrderRefused, parse_order

SIDES = [("buy", "Buy"), ("sell", "Sell"), ("sell_short", "Sell short"), ("buy_to_cover", "Buy to cover")]
TYPES = [("market", "Market"), ("limit", "Limit"), ("stop", "Stop"), ("stop_limit", "Stop-limit")]
ORDER_TABS = {"resting": "Open", "filled": "Filled", "closed": "Cancelled & expired"}
FIELDS = ("side", "type", "quantity", "limit_price", "stop_price", "time_in_force")


def _listed_or_404(symbol: str) -> str:
    symbol = symbol.upper()
    if not selectors.symbol_is_listed(symbol):
        raise Http404("No such stock.")
    return symbol


def _ticket_data(request, symbol: str) -> dict:
    source = request.POST if request.method == "POST" else request.GET
    data = {field: source.get(field, "") for field in FIELDS}
    data["symbol"] = symbol
    data["side"] = data["side"] or "buy"
    data["type"] = data["type"] or "market"
    data["time_in_force"] = data["time_in_force"] or "day"
    return data


def _ticket_context(request, symbol: str, data: dict, **extra) -> dict:
    position = None
    if request.user.is_authenticated:
        value = selectors.portfolio_value(user_id=request.user.pk)
        position = next((p for p in value.positions if p.symbol == symbol), None)
        extra.setdefault("balance", value.cash)
    return {"symbol": symbol, "data": data, "sides": SIDES, "types": TYPES, "position": position,
            "idempotency_key": f"web-{uuid.uuid4().hex}", "fee_bps": _fee_bps(), **extra}


def _fee_bps() -> int:
    from django.conf import settings

    return settings.TRADE_FEE_BPS


@require_GET
def ticket(request, symbol: str):
    """The trade ticket of one stock (loaded into the stock page)."""
    symbol = _listed_or_404(symbol)
    return render(request, "trading/ticket.html", _ticket_context(request, symbol, _ticket_data(request, symbol)))


@login_required
@require_GET
def ticket_preview(request, symbol: str):
    """Fill price, fee, resulting position and buying power for the ticket as filled in."""
    symbol = _listed_or_404(symbol)
    data = _ticket_data(request, symbol)
    try:
        preview = services.order_preview(user_id=request.user.pk, spec=parse_order(data)).as_dict()
        errors = {}
    except OrderRefused as refusal:
        preview, errors = None, refusal.fields or {"": [refusal.message]}
    return render(request, "trading/partials/preview.html", {"preview": preview, "errors": errors, "data": data})


@login_required
@require_POST
def ticket_place(request, symbol: str):
    """Send the order from the ticket: the order with its fill, or the reason it was refused."""
    symbol = _listed_or_404(symbol)
    data = _ticket_data(request, symbol)
    key = (request.POST.get("idempotency_key") or "")[:120] or None
    try:
        placed, _ = services.order_place(user_id=request.user.pk, spec=parse_order(data), idempotency_key=key)
    except OrderRefused as refusal:
        context = _ticket_context(request, symbol, data, refusal=refusal)
        return render(request, "trading/ticket.html", context, status=refusal.status)
    response = render(request, "trading/ticket.html", _ticket_context(request, symbol, {**data, "quantity": ""},
                                                                     placed=placed))
    response["HX-Trigger"] = "balanceChanged"  # the top bar's balance refreshes itself
    return response


@login_required
@require_GET
def portfolio_page(request):
    value = selectors.portfolio_value(user_id=request.user.pk)
    template = "trading/partials/positions.html" if request.htmx else "trading/portfolio.html"
    return render(request, template, {"p": value, "history": selectors.snapshot_history(user_id=request.user.pk)})


@login_required
@require_GET
def orders_page(request):
    tab = request.GET.get("tab", "resting")
    if tab not in ORDER_TABS:
        tab = "resting"
    statuses = selectors.parse_statuses(tab)
    page = Paginator(selectors.orders_of(user_id=request.user.pk, statuses=statuses), 50).get_page(
        request.GET.get("page"))
    template = "trading/partials/orders_table.html" if request.htmx else "trading/orders.html"
    return render(request, template, {"tab": tab, "tabs": ORDER_TABS, "page": page})


@login_required
@require_POST
def order_cancel(request, order_id: int):
    try:
        cancelled = services.order_cancel(user_id=request.user.pk, order_id=order_id)
        refusal = None
    except OrderRefused as exc:
        if exc.status == 404:
            raise Http404(exc.message) from None
        cancelled = Order.objects.filter(pk=order_id, user_id=request.user.pk).select_related("fill").first()
        refusal = exc.message
    if not request.htmx:
        return redirect(reverse("trading_orders"))
    return render(request, "trading/partials/order_row.html", {"o": cancelled, "refusal": refusal},
                  status=409 if refusal else 200)


@login_required
@require_GET
def trades_page(request):
    from apps.trading.api import trade_filters

    try:
        filters = trade_filters(request.GET)
        errors = {}
    except ApiError as exc:
        filters, errors = selectors.TradeFilters(), exc.fields
    page = Paginator(selectors.trades_of(user_id=request.user.pk, filters=filters), 50).get_page(
        request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    template = "trading/partials/trades_table.html" if request.htmx else "trading/trades.html"
    return render(request, template, {"page": page, "filters": request.GET, "errors": errors, "sides": SIDES,
                                      "types": TYPES, "query": query.urlencode()})


@require_GET
def returns_page(request):
    period = request.GET.get("period", "weekly")
    if period not in leaderboard.PERIODS:
        period = "weekly"
    board = leaderboard.returns_board(period=period)
    template = "trading/partials/returns_table.html" if request.htmx else "trading/returns.html"
    return render(request, template, {"board": board, "period": period,
                                      "periods": {"weekly": "This week", "monthly": "This month",
                                                  "all_time": "All time"}})
