"""POST /api/v1/markets/{id}/trades/ for token-authenticated JSON clients, a lean route in front
of Django (apps/core/lean.py has the request handling; MARKET_FAST_PATH turns it off).

Through Django and DRF a trade spent most of its server CPU on the framework (bench/
markets_trades.py). This route answers with the parts the DRF view (apps/markets/api.py
``MarketTradesView.post``) uses: the view's own throttles (``drf_throttles``; normally
apps.markets.throttles, whose one Redis script also reads the trade's clock), ``order_from_body``,
``services.market_trade`` with the Idempotency-Key and that clock, ``trade_representation`` (201,
or 200 for a replay), and its refusals raised as the view raises them. ``tests/markets/test_fastpath.py``
checks that it engages and that both routes answer alike.
"""
from __future__ import annotations

import re

from apps.core.lean import LeanRequest, LeanRoute, drf_throttles
from apps.markets import services
from apps.markets.api import MarketTradesView, order_from_body, trade_representation


class MarketTradeRoute(LeanRoute):
    name = "market trade route"
    path = re.compile(r"/api/v1/markets/([1-9][0-9]{0,17})/trades/")
    switch = "MARKET_FAST_PATH"

    def handle(self, request: LeanRequest) -> tuple[int, dict]:
        market_id = int(request.args[0])
        throttled = drf_throttles(MarketTradesView, request, market_id=market_id)
        trade = services.market_trade(user_id=request.user.pk, market_id=market_id,
                                      order=order_from_body(request.data), idempotency_key=request.idempotency_key,
                                      now=getattr(throttled, "market_now", None))
        return (200 if trade.replayed else 201), trade_representation(trade)
