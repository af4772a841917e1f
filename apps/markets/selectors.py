"""Reads of the prediction markets, shaped for the API and the pages.

``trade_quote`` is the quote endpoint's read: the market and the player's position as they are
now, through the very ``pricing.fill_for`` a trade runs on the locked row.
"""
from __future__ import annotations

from decimal import Decimal

from django.db import connection
from django.db.models import QuerySet

from apps.accounts.eligibility import eligible_sql
from apps.markets import errors
from apps.markets.amm.numeric import text
from apps.markets.models import Market, MarketTrade, Position, Stop
from apps.markets.pricing import Fill, Order, fill_for
from apps.markets.state import from_json, module_of, state_of, to_json

HISTORY_POINTS = 2000
SHOWN = Decimal("1e-6")


def markets_list(*, state: str | None = None) -> QuerySet[Market]:
    qs = Market.objects.all()
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("state", "closes_at", "id")


def market_get(market_id: int) -> Market:
    market = Market.objects.filter(pk=market_id).first()
    if market is None:
        raise errors.not_found(market_id)
    return market


def market_state(market: Market) -> dict:
    """The mechanism's state as the API shows it: pool and p (cpmm), q and b (lmsr), supply
    and the curve (sigmoid), with the probabilities."""
    state = state_of(market)
    body = to_json(market.mechanism, state)
    body["probabilities"] = [text(p) for p in module_of(market.mechanism).probabilities(state)]
    return body


def trade_quote(*, market_id: int, user_id: int | None, order: Order) -> Fill:
    """What ``order`` would get now: the same computation the trade makes under its lock."""
    market = market_get(market_id)
    if market.state != Market.State.OPEN:
        raise errors.closed(market.state)
    held = None
    if user_id is not None:
        held = Position.objects.filter(market_id=market_id, user_id=user_id, outcome=order.outcome).first()
    return fill_for(mechanism=market.mechanism, state=state_of(market), outcomes=len(market.outcomes),
                    fee_pct=market.fee_pct, order=order, position=held.shares if held else Decimal(0),
                    collateral=held.collateral if held else 0)


def positions_of_user(*, user_id: int, market_id: int | None = None) -> list[dict]:
    """The player's open positions with their market, current price and value (1 query)."""
    qs = (Position.objects.filter(user_id=user_id).exclude(shares=0, collateral=0).select_related("market")
          .order_by("-updated_at", "id"))
    if market_id is not None:
        qs = qs.filter(market_id=market_id)
    rows = []
    for p in qs:
        market = p.market
        price = module_of(market.mechanism).probabilities(state_of(market))[p.outcome]
        rows.append({"market": market.pk, "question": market.question, "state": market.state, "outcome": p.outcome,
                     "label": market.outcomes[p.outcome], "shares": p.shares, "collateral": p.collateral,
                     "cost": p.cost, "price": price.quantize(SHOWN),
                     "value": (p.shares * price).quantize(Decimal("0.01"))})
    return rows


def stops_of_user(*, user_id: int, market_id: int) -> QuerySet[Stop]:
    return Stop.objects.filter(user_id=user_id, market_id=market_id).order_by("-created_at", "-id")[:50]


def market_history(market: Market, *, limit: int = HISTORY_POINTS) -> list[dict]:
    """The probabilities over time: the opening, then after each of the last ``limit`` trades."""
    opening = module_of(market.mechanism).probabilities(from_json(market.mechanism, market.initial_state))
    rows = list(MarketTrade.objects.filter(market=market).order_by("-seq").values_list("created_at", "prob_after")
                [:limit])
    points = [{"t": market.created_at.timestamp(), "p": [float(p) for p in opening]}] if len(rows) < limit else []
    points += [{"t": at.timestamp(), "p": [float(p) for p in probs]} for at, probs in reversed(rows)]
    return points


def recent_trades(market: Market, *, limit: int = 30) -> list[MarketTrade]:
    return list(MarketTrade.objects.filter(market=market).select_related("user").order_by("-seq")[:limit])


_LEADERBOARD_SQL = f"""
WITH flows AS (
    SELECT t.user_id, t.cash AS amount FROM markets_markettrade t JOIN markets_market m ON m.id = t.market_id
    WHERE m.state IN ('resolved', 'cancelled') AND t.kind IN ('buy', 'sell')
    UNION ALL
    SELECT p.user_id, p.amount FROM markets_marketpayout p
),
totals AS (SELECT user_id, SUM(amount) AS profit, COUNT(*) AS flows FROM flows GROUP BY user_id)
SELECT RANK() OVER (ORDER BY t.profit DESC) AS rank, u.id, u.username, t.profit::bigint
FROM totals t JOIN accounts_user u ON u.id = t.user_id
WHERE {eligible_sql("u")}
ORDER BY t.profit DESC, u.id
LIMIT %s
"""


def profit_leaderboard(*, limit: int = 50) -> list[dict]:
    """Players by profit in ended markets (every point paid in and out of resolved and cancelled
    markets), house and restricted players left out (apps.accounts.eligibility)."""
    with connection.cursor() as cursor:
        cursor.execute(_LEADERBOARD_SQL, [limit])
        return [{"rank": rank, "user_id": user_id, "username": username, "profit": profit}
                for rank, user_id, username, profit in cursor.fetchall()]
