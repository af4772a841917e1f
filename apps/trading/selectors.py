"""Trading reads: the live portfolio (holdings from PostgreSQL, prices from Redis in one round
trip), orders, the trade history with its filters, the snapshot history."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Q, QuerySet

from apps.core.redis import get_redis
from apps.market.models import Stock
from apps.market.quotes import read_quotes_at
from apps.trading.models import Fill, Order, PortfolioSnapshot
from apps.trading.rules import buy_in_price_of, to_price

CENTS = Decimal("0.01")
_listed: tuple[float, frozenset[str]] = (0.0, frozenset())
LISTED_CACHE_SECONDS = 30.0


def symbol_is_listed(symbol: str) -> bool:
    """Whether ``symbol`` is an active stock (the list is cached 30 s per process; a miss asks
    the database, so a stock listed a moment ago is found)."""
    global _listed
    at, symbols = _listed
    if time.monotonic() - at > LISTED_CACHE_SECONDS:
        symbols = frozenset(Stock.objects.filter(is_active=True).values_list("symbol", flat=True))
        _listed = (time.monotonic(), symbols)
    return symbol in symbols or Stock.objects.filter(symbol=symbol, is_active=True).exists()


def balance_of(user_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT balance FROM points_pointsaccount WHERE user_id = %s", [user_id])
        row = cursor.fetchone()
    return int(row[0]) if row else 0


# --------------------------------------------------------------------------- the live portfolio


@dataclass(frozen=True, slots=True)
class PositionValue:
    symbol: str
    name: str
    quantity: Decimal
    avg_cost: Decimal
    price: Decimal | None
    quote_age: float | None
    market_value: Decimal | None
    cost_basis: Decimal
    unrealized_pnl: Decimal | None
    unrealized_pct: float | None
    realized_pnl: Decimal
    day_change: Decimal | None
    day_change_pct: float | None
    collateral: int
    buy_in_price: Decimal | None


@dataclass(frozen=True, slots=True)
class PortfolioValue:
    user_id: int
    cash: int
    collateral: int
    market_value: Decimal
    equity: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    fees_paid: int
    day_change: Decimal
    total_return: Decimal
    total_return_pct: float | None
    invested: Decimal
    as_of: float
    positions: list[PositionValue]


# One statement for any number of players: the balance, and every position row with the
# stock's name and previous close (Stock.reference_price).
_HOLDINGS_SQL = """
SELECT a.user_id, a.balance, p.symbol, p.quantity, p.avg_cost, p.realized_pnl, p.fees_paid, p.invested,
       p.collateral, COALESCE(s.name, ''), s.reference_price
FROM points_pointsaccount a
LEFT JOIN trading_position p ON p.user_id = a.user_id
LEFT JOIN market_stock s ON s.symbol = p.symbol
WHERE a.user_id = ANY(%s)
ORDER BY a.user_id, p.symbol
"""


def _holdings(user_ids: list[int]) -> dict[int, tuple[int, list[tuple]]]:
    with connection.cursor() as cursor:
        cursor.execute(_HOLDINGS_SQL, [list(user_ids)])
        rows = cursor.fetchall()
    out: dict[int, tuple[int, list[tuple]]] = {}
    for user_id, balance, *position in rows:
        entry = out.setdefault(user_id, (int(balance), []))
        if position[0] is not None:
            entry[1].append(tuple(position))
    return out


def _value(user_id: int, cash: int, rows: list[tuple], quotes: dict, now: float, maintenance_pct: int
           ) -> PortfolioValue:
    positions = []
    market_value = unrealized = realized = day_change = invested = Decimal(0)
    fees = collateral_total = 0
    for symbol, quantity, avg_cost, realized_pnl, fees_paid, pos_invested, collateral, name, ref in rows:
        realized += realized_pnl
        fees += fees_paid
        invested += pos_invested
        collateral_total += collateral
        if quantity == 0:
            continue
        quote = quotes.get(symbol)
        price = to_price(quote.price) if quote else None
        cost_basis = abs(quantity) * avg_cost
        value = unreal = change = None
        unreal_pct = change_pct = None
        if price is not None:
            value = quantity * price
            unreal = (price - avg_cost) * quantity
            market_value += value
            unrealized += unreal
            unreal_pct = float(unreal / cost_basis * 100) if cost_basis else None
            if ref:
                change = quantity * (price - ref)
                day_change += change
                change_pct = float(change / (abs(quantity) * ref) * 100)
        positions.append(PositionValue(
            symbol=symbol, name=name, quantity=quantity, avg_cost=avg_cost, price=price,
            quote_age=round(now - quote.recv, 3) if quote else None, market_value=value, cost_basis=cost_basis,
            unrealized_pnl=unreal, unrealized_pct=unreal_pct, realized_pnl=realized_pnl, day_change=change,
            day_change_pct=change_pct, collateral=collateral,
            buy_in_price=buy_in_price_of(quantity, collateral, maintenance_pct) if quantity < 0 else None))
    total = realized - fees + unrealized
    return PortfolioValue(
        user_id=user_id, cash=cash, collateral=collateral_total, market_value=market_value,
        equity=cash + collateral_total + market_value, unrealized_pnl=unrealized, realized_pnl=realized,
        fees_paid=fees, day_change=day_change, total_return=total,
        total_return_pct=float(total / invested * 100) if invested else None, invested=invested, as_of=now,
        positions=positions)


def portfolios_value(user_ids: list[int], *, client=None) -> dict[int, PortfolioValue]:
    """The live portfolios of many players: one SQL statement, one Redis round trip."""
    from django.conf import settings

    holdings = _holdings(user_ids)
    symbols = sorted({row[0] for _, rows in holdings.values() for row in rows if row[1] != 0})
    quotes, now = read_quotes_at(client or get_redis(), symbols) if symbols else ({}, time.time())
    pct = settings.TRADE_SHORT_MAINTENANCE_PCT
    return {user_id: _value(user_id, cash, rows, quotes, now, pct) for user_id, (cash, rows) in holdings.items()}


def portfolio_value(*, user_id: int, client=None) -> PortfolioValue:
    found = portfolios_value([user_id], client=client).get(user_id)
    if found is None:
        return _value(user_id, 0, [], {}, time.time(), 100)
    return found


def _m(value: Decimal | None) -> str | None:
    return None if value is None else format(value.quantize(CENTS), "f")


def _n(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def portfolio_representation(p: PortfolioValue) -> dict:
    """GET /api/v1/portfolio/ and the ``portfolio`` event of /ws/me/: points to the cent."""
    return {
        "cash": p.cash, "collateral": p.collateral, "market_value": _m(p.market_value), "equity": _m(p.equity),
        "unrealized_pnl": _m(p.unrealized_pnl), "realized_pnl": _m(p.realized_pnl), "fees_paid": p.fees_paid,
        "day_change": _m(p.day_change), "total_return": _m(p.total_return),
        "total_return_pct": None if p.total_return_pct is None else round(p.total_return_pct, 4),
        "invested": _m(p.invested), "as_of": round(p.as_of, 3),
        "positions": [{
            "symbol": x.symbol, "name": x.name, "quantity": _n(x.quantity), "avg_cost": _n(x.avg_cost.quantize(Decimal("0.0001"))),
            "price": _n(x.price), "quote_age": x.quote_age, "market_value": _m(x.market_value),
            "cost_basis": _m(x.cost_basis), "unrealized_pnl": _m(x.unrealized_pnl),
            "unrealized_pct": None if x.unrealized_pct is None else round(x.unrealized_pct, 4),
            "realized_pnl": _m(x.realized_pnl), "day_change": _m(x.day_change),
            "day_change_pct": None if x.day_change_pct is None else round(x.day_change_pct, 4),
            "collateral": x.collateral, "buy_in_price": _n(x.buy_in_price),
        } for x in p.positions],
    }


# --------------------------------------------------------------------------- orders and trades

ORDER_STATUS_GROUPS = {"resting": Order.RESTING, "closed": (Order.Status.CANCELLED, Order.Status.REJECTED,
                                                           Order.Status.EXPIRED)}


def parse_statuses(raw: str | None) -> tuple[str, ...] | None:
    """``?status=`` as statuses: any of Order.Status, comma-separated, or a group (resting,
    closed). None: all. Raises ValueError naming a bad value."""
    if not raw:
        return None
    out: list[str] = []
    for part in raw.split(","):
        part = part.strip()
        if part in ORDER_STATUS_GROUPS:
            out.extend(ORDER_STATUS_GROUPS[part])
        elif part in Order.Status.values:
            out.append(part)
        else:
            raise ValueError(part)
    return tuple(dict.fromkeys(out))


def orders_of(*, user_id: int, statuses: tuple[str, ...] | None = None, symbol: str | None = None) -> QuerySet[Order]:
    qs = Order.objects.filter(user_id=user_id).select_related("fill").order_by("-id")
    if statuses:
        qs = qs.filter(status__in=statuses)
    if symbol:
        qs = qs.filter(symbol=symbol)
    return qs


@dataclass(frozen=True)
class TradeFilters:
    symbol: str = ""
    side: str = ""
    type: str = ""
    date_from: datetime | None = None
    date_to: datetime | None = None
    q: str = ""


def trades_of(*, user_id: int, filters: TradeFilters) -> QuerySet[Fill]:
    """The player's fills, newest first, filtered. ``q`` searches symbols (prefix) and company
    names (substring)."""
    qs = Fill.objects.filter(user_id=user_id).select_related("order").order_by("-id")
    if filters.symbol:
        qs = qs.filter(symbol=filters.symbol)
    if filters.side:
        qs = qs.filter(side=filters.side)
    if filters.type:
        qs = qs.filter(order_type=filters.type)
    if filters.date_from:
        qs = qs.filter(created_at__gte=filters.date_from)
    if filters.date_to:
        qs = qs.filter(created_at__lt=filters.date_to)
    if filters.q:
        names = Stock.objects.filter(name__icontains=filters.q).values("symbol")
        qs = qs.filter(Q(symbol__istartswith=filters.q) | Q(symbol__in=names))
    return qs


CSV_HEADER = ["trade_id", "order_id", "filled_at", "symbol", "side", "type", "quantity", "price", "cash", "fee",
              "collateral_locked", "collateral_released", "realized_pnl", "position_after", "avg_cost_after", "source"]


def trade_csv_rows(qs: QuerySet[Fill]):
    yield CSV_HEADER
    for f in qs.iterator(chunk_size=2000):
        yield [f.pk, f.order_id, f.created_at.isoformat().replace("+00:00", "Z"), f.symbol, f.side, f.order_type,
               _n(f.quantity), _n(f.price), f.cash, f.fee, f.collateral_locked, f.collateral_released,
               _n(f.realized_pnl), _n(f.position_after), _n(f.avg_cost_after), f.order.source]


def snapshot_history(*, user_id: int, limit: int = 400) -> list[dict]:
    rows = list(PortfolioSnapshot.objects.filter(user_id=user_id).order_by("-session")[:limit])
    rows.reverse()
    return [{"session": s.session, "equity": _m(s.equity), "total_return": _m(s.pnl),
             "market_value": _m(s.market_value), "cash": s.cash} for s in rows]
