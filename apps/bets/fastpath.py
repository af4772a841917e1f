"""The bet POST for token-authenticated JSON clients: a lean route in front of Django.

``POST /api/v1/races/{id}/bets/`` is the hottest write path (docs/BENCHMARKS.md: "Bet
placement"). Through Django and DRF, a bet spends about a quarter of its server CPU on the
framework, none of which a bearer-token JSON request needs. apps/core/lean.py serves that case
(the token, the body, refusals in the one error shape, security headers, handing anything
unusual to Django); this route answers it with the parts the DRF view
(apps/bets/api.py ``BetCreateView``) uses, so there is one implementation of every rule:

- the rate limits, clock and odds: ``apps.bets.throttles.bet_preflight`` (the view's BetThrottle
  calls it too), refused with ``rate_limited`` as the view's ``throttled`` does;
- the body: ``apps.bets.serializers.parse_bet_request``;
- the bet: ``apps.bets.services.bet_place``; the answer: ``bet_representation``;
- the fair-play observation: ``apps.core.observe.observe_bet``.

BET_FAST_PATH turns it off. ``tests/bets/test_fastpath.py`` checks that both routes answer every
case the same way.
"""
from __future__ import annotations

import re

from apps.bets.errors import rate_limited
from apps.bets.serializers import bet_representation, parse_bet_request
from apps.bets.services import bet_place
from apps.bets.throttles import bet_preflight
from apps.core.lean import LeanRequest, LeanRoute
from apps.core.observe import client_info_from_headers, observe_bet


class BetRoute(LeanRoute):
    name = "bet route"
    path = re.compile(r"/api/v1/races/([1-9][0-9]{0,17})/bets/")
    switch = "BET_FAST_PATH"

    def handle(self, request: LeanRequest) -> tuple[int, dict]:
        race_id, address = int(request.args[0]), request.address
        preflight = bet_preflight(race_id=race_id, user_id=request.user.pk, ip=address)
        if preflight.wait > 0:
            raise rate_limited(preflight.wait)
        bet = bet_place(user=request.user, race_id=race_id, idempotency_key=request.idempotency_key,
                        client_ip=address, preflight=preflight, **parse_bet_request(request.data))
        if not bet.replayed:
            observe_bet(user_id=bet.user_id, bet_id=bet.pk,
                        info=client_info_from_headers(request.scope["headers"], address=address, via="api"))
        return 201, bet_representation(bet)
