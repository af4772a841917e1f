"""POST /api/v1/orders/ for token-authenticated JSON clients: a lean route in front of Django.

Through Django and DRF an order spent about two thirds of its server CPU on the framework
(bench/trading_orders.py). apps/core/lean.py serves bearer-token JSON requests (the token, the
body, refusals in the one error shape, security headers, handing anything unusual to Django);
this route answers with the parts the DRF view (apps/trading/api.py ``OrdersView.post``) uses:
``rules.parse_order``, ``services.order_place`` with the Idempotency-Key,
``order_representation`` (201, or 200 for a replay), and an ``OrderRefused`` raised as the view
raises it (``Refused``: the one error shape, with Retry-After). The view has no DRF throttles: the
per-player limit is counted inside ``order_place``. TRADE_FAST_PATH turns it off.
``tests/trading/test_fastpath.py`` checks that it engages and that both routes answer alike.
"""
from __future__ import annotations

import re

from apps.core.lean import LeanRequest, LeanRoute
from apps.trading.api import Refused
from apps.trading.rules import OrderRefused, parse_order
from apps.trading.serializers import order_representation
from apps.trading.services import order_place


class OrderRoute(LeanRoute):
    name = "order route"
    path = re.compile(r"/api/v1/orders/")
    switch = "TRADE_FAST_PATH"

    def handle(self, request: LeanRequest) -> tuple[int, dict]:
        try:
            order, created = order_place(user_id=request.user.pk, spec=parse_order(request.data),
                                         idempotency_key=request.idempotency_key)
        except OrderRefused as refusal:
            raise Refused(refusal) from None
        return (201 if created else 200), order_representation(order)
