"""Rebuild a market from its trade ledger and say where anything differs (``manage.py markets_verify``).

From the market's ``initial_state`` every trade is replayed in sequence order through the same
``pricing.fill_for`` the trade ran, with the position the player had at that point. Checked:

- the sequence has no gap; each trade's shares, cost, whole points, fee, collateral, net cash,
  position and probabilities are what the replay computes, and so is the state after it;
- the market row's state, sequence, volume, fees and active stop count;
- every position (shares, collateral, net cost) against the sum of its trades;
- the ledger entries of every trade (keys ``mkt:{market}:{seq}:…``), and no entry without a trade;
- a stop's execution came at a price at or past its trigger;
- a resolved market paid exactly its winning shares (and a sigmoid's collateral), a cancelled
  one refunded exactly each net cost, and the house never lost more than its subsidy.
"""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from apps.markets.amm import cpmm
from apps.markets.amm.numeric import pay_points
from apps.markets.execution import _entries
from apps.markets.models import Market, MarketPayout, MarketTrade, Position, Stop
from apps.markets.pricing import Order, fill_for
from apps.markets.state import from_json, state_of, to_json
from apps.points.models import LedgerEntry

MARKET_KINDS = [LedgerEntry.Kind.MARKET_BUY, LedgerEntry.Kind.MARKET_SELL, LedgerEntry.Kind.MARKET_FEE,
                LedgerEntry.Kind.MARKET_PAYOUT, LedgerEntry.Kind.MARKET_REFUND, LedgerEntry.Kind.COLLATERAL_LOCK,
                LedgerEntry.Kind.COLLATERAL_RELEASE]


class _Position:
    __slots__ = ("shares", "collateral", "cost")

    def __init__(self):
        self.shares, self.collateral, self.cost = Decimal(0), 0, 0


def _compare(problems: list[str], where: str, pairs: dict) -> None:
    for name, (found, expected) in pairs.items():
        if found != expected:
            problems.append(f"{where}: {name} is {found}, the replay gives {expected}")


def market_verify(market: Market) -> list[str]:
    """The differences between the market as stored and as its trades rebuild it (empty: none)."""
    market.refresh_from_db()
    problems: list[str] = []
    state = from_json(market.mechanism, market.initial_state)
    positions: dict[tuple[int, int], _Position] = defaultdict(_Position)
    expected_entries: dict[str, int] = {}
    volume = fees = collected = 0
    stops = {s.pk: s for s in Stop.objects.filter(market=market)}
    trades = MarketTrade.objects.filter(market=market).order_by("seq")
    seq = 0
    for trade in trades.iterator(chunk_size=2000):
        seq += 1
        where = f"market {market.pk} trade #{trade.seq}"
        if trade.seq != seq:
            problems.append(f"{where}: expected sequence number {seq}")
            seq = trade.seq
        if trade.kind == MarketTrade.Kind.LIQUIDITY:
            state = cpmm.add_liquidity(state, trade.shares)
        else:
            held = positions[(trade.user_id, trade.outcome)]
            order = Order(outcome=trade.outcome, side=trade.kind, amount=trade.amount,
                          shares=None if trade.amount is not None else trade.shares)
            try:
                fill = fill_for(mechanism=market.mechanism, state=state, outcomes=len(market.outcomes),
                                fee_pct=market.fee_pct, order=order, position=held.shares, collateral=held.collateral)
            except Exception as exc:  # noqa: BLE001 - a refusal on replay is itself the difference
                problems.append(f"{where}: the replay refuses this trade ({exc})")
                continue
            _compare(problems, where, {
                "shares": (trade.shares, fill.shares), "cost": (trade.cost, fill.cost),
                "points": (trade.points, fill.points), "fee": (trade.fee, fill.fee),
                "collateral": (trade.collateral, fill.collateral), "cash": (trade.cash, fill.cash),
                "position_after": (trade.position_after, fill.position_after),
                "prob_after": (list(trade.prob_after), [p.quantize(Decimal("1e-18")) for p in fill.prob_after]),
            })
            if trade.stop_id is not None:
                stop = stops.get(trade.stop_id)
                price = trade.prob_before[trade.outcome]
                if stop is None or not (price <= stop.trigger if stop.direction == Stop.Direction.BELOW
                                        else price >= stop.trigger):
                    problems.append(f"{where}: stop {trade.stop_id} executed at {price}, not past its trigger")
            state = fill.state
            held.shares, held.collateral, held.cost = (fill.position_after, held.collateral + fill.collateral,
                                                       held.cost - fill.cash)
            volume += fill.points
            fees += fill.fee
            collected -= fill.cash
            for amount, _, suffix in _entries(fill):
                expected_entries[f"mkt:{market.pk}:{trade.seq}:{suffix}"] = amount
        if trade.state_after != to_json(market.mechanism, state):
            problems.append(f"{where}: stored state {trade.state_after} differs from the replay's "
                            f"{to_json(market.mechanism, state)}")
    where = f"market {market.pk}"
    _compare(problems, where, {"state": (to_json(market.mechanism, state_of(market)), to_json(market.mechanism, state)),
                               "seq": (market.seq, seq), "volume": (market.volume, volume), "fees": (market.fees, fees),
                               "active_stops": (market.active_stops,
                                                sum(1 for s in stops.values() if s.state == Stop.State.ACTIVE))})
    stored = {(p.user_id, p.outcome): p for p in Position.objects.filter(market=market)}
    for key in set(stored) | set(positions):
        p, r = stored.get(key), positions.get(key, _Position())
        found = (p.shares, p.collateral, p.cost) if p else (Decimal(0), 0, 0)
        if found != (r.shares, r.collateral, r.cost):
            problems.append(f"{where}: position of user {key[0]} in outcome {key[1]} is "
                            f"(shares, collateral, cost) {found}, the trades give {(r.shares, r.collateral, r.cost)}")
    problems += _check_ledger(market, expected_entries, positions)
    problems += _check_end(market, positions, collected)
    return problems


def _check_ledger(market: Market, expected: dict[str, int], positions) -> list[str]:
    users = {u for u, _ in positions} | set(MarketPayout.objects.filter(market=market).values_list("user_id", flat=True))
    prefix = f"mkt:{market.pk}:"
    found = {key: amount for key, amount in LedgerEntry.objects.filter(user_id__in=users, kind__in=MARKET_KINDS)
             .values_list("idempotency_key", "amount") if key.startswith(prefix)}
    payouts = {f"{prefix}{p.kind}:{p.user_id}": p.amount for p in MarketPayout.objects.filter(market=market)}
    problems = []
    for key in sorted(set(found) | set(expected) | set(payouts)):
        want = expected.get(key, payouts.get(key))
        if found.get(key) != want:
            problems.append(f"market {market.pk}: ledger entry {key} is {found.get(key)}, expected {want}")
    return problems


def _check_end(market: Market, positions, collected: int) -> list[str]:
    """Payouts of an ended market against its positions and the house's subsidy."""
    paid = {(p.user_id, p.kind): p.amount for p in MarketPayout.objects.filter(market=market)}
    expected: dict[tuple[int, str], int] = {}
    if market.state == Market.State.RESOLVED:
        for (user, outcome), held in positions.items():
            if outcome == market.resolution and held.shares > 0 and pay_points(held.shares) > 0:
                expected[(user, MarketPayout.Kind.PAYOUT)] = pay_points(held.shares)
            if held.shares < 0 and held.collateral > 0:
                back = pay_points(held.collateral + held.shares) if market.resolution == 0 else held.collateral
                if back > 0:
                    expected[(user, MarketPayout.Kind.COLLATERAL)] = back
    elif market.state == Market.State.CANCELLED:
        cost: dict[int, int] = defaultdict(int)
        for (user, _), held in positions.items():
            cost[user] += held.cost
        expected = {(u, MarketPayout.Kind.REFUND): c for u, c in cost.items() if c > 0}
    problems = [f"market {market.pk}: {kind} to user {user} is {paid.get((user, kind))}, expected {amount}"
                for (user, kind), amount in sorted(expected.items()) if paid.get((user, kind)) != amount]
    problems += [f"market {market.pk}: unexpected {kind} of {amount} to user {user}"
                 for (user, kind), amount in sorted(paid.items()) if (user, kind) not in expected]
    if market.state == Market.State.RESOLVED:
        loss = sum(paid.values()) - collected
        if loss > market.subsidy:
            problems.append(f"market {market.pk}: the house lost {loss}, more than its subsidy {market.subsidy}")
    return problems


def markets_verify(market_ids: list[int] | None = None) -> dict[int, list[str]]:
    """{market id: differences} for every market (or the given ones) with any difference."""
    qs = Market.objects.order_by("pk")
    if market_ids:
        qs = qs.filter(pk__in=market_ids)
    return {m.pk: problems for m in qs.iterator() if (problems := market_verify(m))}
