"""POST /api/v1/orders/ for token-authenticated JSON clients, served without Django's request
machinery — the bet route's lean door (apps/bets/fastpath.py), opened for orders.

Through Django and DRF an order spent about two thirds of its server CPU on the framework
(middleware, DRF's request wrapping and dispatch) and a third on placing it (bench/
trading_orders.py). This route reuses the bet route's request handling whole — header and host
checks, body reading, token verification (``PlayerTokenAuthentication``), the API's JSON parser,
request signals, security headers, handing anything unusual to Django — and answers with the
same parts the DRF view (apps/trading/api.py ``OrdersView.post``) uses:
``rules.parse_order``, ``services.order_place``, ``order_representation``, and refusals through
``apps.core.api.exception_handler`` (the one error shape, with Retry-After). TRADE_FAST_PATH
turns it off. ``tests/trading/test_fastpath.py`` checks that it engages and that both routes
answer alike.
"""
from __future__ import annotations

import logging

from rest_framework import exceptions

from apps.bets.fastpath import BetFastPath, _dumps, _replay
from apps.core import security_headers
from apps.core.api import error_body, exception_handler
from apps.trading.rules import OrderRefused, parse_order
from apps.trading.serializers import order_representation

log = logging.getLogger(__name__)
ORDERS_PATH = "/api/v1/orders/"
MAX_BODY = 16 * 1024  # an order is a hundred bytes; anything larger goes the general way


class OrderFastPath(BetFastPath):
    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != ORDERS_PATH:
            return await self.django(scope, receive, send)
        headers = {}
        for name, value in scope["headers"]:
            if name in headers:  # a repeated header: leave the interpretation to Django
                return await self.django(scope, receive, send)
            headers[name] = value
        auth = headers.get(b"authorization", b"")
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if (auth[:7].lower() != b"bearer " or b"cookie" in headers or ctype != b"application/json"
                or scope.get("query_string")):
            return await self.django(scope, receive, send)
        # The site's security headers, from Django's own middleware; None: that middleware answers
        # this request itself (the HTTPS redirect), so Django does.
        if (security := security_headers.for_scope(scope, headers)) is None:
            return await self.django(scope, receive, send)
        body, messages = b"", []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            if len(body) > MAX_BODY:
                return await self.django(scope, _replay(messages, receive), send)
            if not message.get("more_body"):
                break
        answer = await self._in_thread(self.respond, scope, headers, None, auth[7:].strip(), body)
        if answer is None:
            return await self.django(scope, _replay(messages, receive), send)
        status, payload, extra = answer
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(payload)).encode()), *extra, *security]})
        await send({"type": "http.response.body", "body": payload})

    def _in_thread(self, fn, *args):
        # The innermost app is Django's (stockrace/handlers.py): its pool of worker threads.
        app = self.django
        while not hasattr(app, "_in_thread") and hasattr(app, "django"):
            app = app.django
        return app._in_thread(fn, *args)

    def _place(self, scope, headers: dict, _unused, user, data):
        from apps.trading.api import Refused
        from apps.trading.services import order_place

        key = headers.get(b"idempotency-key")
        try:
            try:
                order, created = order_place(user_id=user.pk, spec=parse_order(data),
                                             idempotency_key=key.decode("latin-1") if key else None)
            except OrderRefused as refusal:
                raise Refused(refusal) from None
        except exceptions.APIException as exc:
            response = exception_handler(exc, {})
            extra = [(k.lower().encode(), str(v).encode("latin-1")) for k, v in response.items()
                     if k in ("Retry-After", "WWW-Authenticate")]
            return response.status_code, _dumps(response.data), extra
        except Exception:  # a bug: logged like Django logs a 500, answered in the error shape
            log.exception("order fast path: POST %s failed", scope["path"])
            return 500, _dumps(error_body("server_error", "Something went wrong on our side; please try again.")), []
        return (201 if created else 200), _dumps(order_representation(order)), []
