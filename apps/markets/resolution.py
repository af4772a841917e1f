"""A market's end: closed at its time, resolved (winning shares pay 1 point each) or cancelled
(every player's net cost refunded), each exactly once.

Resolution is one transaction: the market row locked, the claim ``UPDATE … SET state =
'resolved' WHERE state IN ('open', 'closed')`` (a second run finds it resolved and stops),
the accounts of every holder locked in user id order, then one set-based ledger statement
(apps.points.ledger.credit_many) whose entries carry the keys ``mkt:{id}:payout:{user}`` —
unique in the ledger, so even a run that got past the claim could not pay twice — and the
payout rows. A worker killed anywhere inside rolls the whole transaction back; the next run
(the task's retry or the sweep) starts from a clean closed market.

Amounts: winning shares pay 1 point each, rounded down to a whole point (amm.numeric.SNAP
included, as ``pay_points`` does); on a sigmoid market a short's collateral comes back less what
the short owes (all of it when NO wins). A cancelled market refunds each player's net cost:
everything the player paid into the market (buys, fees, collateral) less everything received,
when positive.
"""
from __future__ import annotations

import logging
from datetime import datetime

from django.db import connection, transaction

from apps.core.redis import redis_now
from apps.markets import errors, events, resolvers
from apps.markets.amm.numeric import SNAP
from apps.markets.models import Market, MarketPayout, Stop
from apps.points import ledger
from apps.points.models import LedgerEntry

log = logging.getLogger(__name__)
S = Market.State
ENDABLE = (S.OPEN, S.CLOSED)


def checkpoint(name: str) -> None:
    """A no-op marking a point inside the resolution transaction; crash tests replace it."""


_CLAIM_SQL = """
UPDATE markets_market SET state = %(state)s, resolution = %(outcome)s, resolved_at = %(now)s,
       resolved_by_id = %(by)s, resolution_reason = %(reason)s, active_stops = 0
WHERE id = %(market)s AND state IN ('open', 'closed')
RETURNING mechanism
"""
# Winning shares: 1 point each, rounded down after the noise snap (amm.numeric.pay_points).
_PAYOUT_SOURCE = f"""
SELECT user_id, FLOOR(shares + {SNAP})::bigint AS amount,
       'mkt:' || market_id || ':payout:' || user_id AS key, NULL::bigint AS bet_id, NULL::text AS memo
FROM markets_position WHERE market_id = %(market)s AND outcome = %(outcome)s AND shares > 0
"""
# Sigmoid shorts: the collateral back, less what the short owes when YES wins.
_COLLATERAL_SOURCE = f"""
SELECT user_id, (CASE WHEN %(outcome)s = 0 THEN FLOOR(collateral + shares + {SNAP}) ELSE collateral END)::bigint
         AS amount,
       'mkt:' || market_id || ':collateral:' || user_id AS key, NULL::bigint AS bet_id, NULL::text AS memo
FROM markets_position WHERE market_id = %(market)s AND shares < 0 AND collateral > 0
"""
# A cancelled market: each player's net cost (the trades' cash flows, collateral included).
_REFUND_SOURCE = """
SELECT user_id, -SUM(cash)::bigint AS amount, 'mkt:' || market_id || ':refund:' || user_id AS key,
       NULL::bigint AS bet_id, NULL::text AS memo
FROM markets_markettrade WHERE market_id = %(market)s AND kind IN ('buy', 'sell')
GROUP BY market_id, user_id HAVING -SUM(cash) > 0
"""
_PAYOUT_ROWS_SQL = """
INSERT INTO markets_marketpayout (market_id, user_id, kind, amount, created_at)
SELECT %(market)s, u, %(kind)s, a, now() FROM unnest(%(users)s::bigint[], %(amounts)s::bigint[]) AS t(u, a)
ON CONFLICT (market_id, user_id, kind) DO NOTHING
"""


def _credit(cursor, market_id: int, source: str, params: dict, *, ledger_kind: str, payout_kind: str,
            memo: str) -> list[tuple[int, int, str]]:
    credited = ledger.credit_many(cursor, source_sql=source, params=params, kind=ledger_kind, memo=memo, rows=True)
    if credited.rows:
        cursor.execute(_PAYOUT_ROWS_SQL, {"market": market_id, "kind": payout_kind,
                                          "users": [u for u, _, _ in credited.rows],
                                          "amounts": [a for _, a, _ in credited.rows]})
    return credited.rows or []


def _cancel_stops(market_id: int, reason: str) -> None:
    Stop.objects.filter(market_id=market_id, state=Stop.State.ACTIVE).update(state=Stop.State.CANCELLED,
                                                                            reason=reason)


def market_close(*, market_id: int, now: datetime | None = None) -> bool:
    """open → closed once its time has come; its stops are cancelled. Idempotent."""
    now = now or redis_now()
    with transaction.atomic():
        if Market.objects.filter(pk=market_id, state=S.OPEN, closes_at__lte=now).update(
                state=S.CLOSED, active_stops=0) != 1:
            return False
        _cancel_stops(market_id, "the market closed")
        events.market_event_on_commit(market_id, "closed", {"at": now.isoformat()})
        from apps.markets.tasks import market_resolve_task

        transaction.on_commit(lambda: market_resolve_task.delay(market_id))
    return True


def market_resolve(*, market_id: int, outcome: int, reason: str, by_user_id: int | None = None,
                   now: datetime | None = None) -> int | None:
    """Resolve to ``outcome`` and pay the winners, once. Returns the points paid, or None when
    the market was already resolved or cancelled (nothing is paid again)."""
    reason = (reason or "").strip()
    if not reason:
        raise errors.invalid("Give the reason for this resolution.", field="reason")
    now = now or redis_now()
    with transaction.atomic(), connection.cursor() as cursor:
        market = Market.objects.select_for_update(of=("self",)).filter(pk=market_id).first()
        if market is None:
            raise errors.not_found(market_id)
        if not isinstance(outcome, int) or isinstance(outcome, bool) or not 0 <= outcome < len(market.outcomes):
            raise errors.invalid(f"Unknown outcome {outcome}.", field="outcome", code="unknown_outcome")
        cursor.execute(_CLAIM_SQL, {"state": S.RESOLVED, "outcome": outcome, "now": now, "by": by_user_id,
                                    "reason": reason[:300], "market": market_id})
        if cursor.fetchone() is None:
            return None
        checkpoint("claimed")
        params = {"market": market_id, "outcome": outcome}
        ledger.lock_accounts(cursor, user_ids_sql="SELECT user_id FROM markets_position WHERE market_id = %(market)s",
                             params=params)
        label = market.outcomes[outcome]
        paid = _credit(cursor, market_id, _PAYOUT_SOURCE, params, ledger_kind=LedgerEntry.Kind.MARKET_PAYOUT,
                       payout_kind=MarketPayout.Kind.PAYOUT, memo=f"Market {market_id} resolved {label}")
        checkpoint("paid")
        returned = []
        if market.mechanism == Market.Mechanism.SIGMOID:
            returned = _credit(cursor, market_id, _COLLATERAL_SOURCE, params,
                               ledger_kind=LedgerEntry.Kind.COLLATERAL_RELEASE, payout_kind=MarketPayout.Kind.COLLATERAL,
                               memo=f"Market {market_id} resolved {label}: collateral")
        _cancel_stops(market_id, "the market resolved")
        checkpoint("before_commit")
        total = sum(a for _, a, _ in paid) + sum(a for _, a, _ in returned)
        events.market_event_on_commit(market_id, "resolved", {"outcome": outcome, "label": label, "reason": reason,
                                                              "paid": total})
        for user_id, amount, _ in paid + returned:
            events.user_event_on_commit(user_id, {"type": "market_payout", "market": market_id, "amount": amount,
                                                  "question": market.question}, background=True)
    log.info("market %s resolved %s (%s): %s points to %s holders", market_id, label, reason, total, len(paid))
    return total


def market_cancel(*, market_id: int, reason: str, by_user_id: int | None = None,
                  now: datetime | None = None) -> int | None:
    """Cancel and refund each player's net cost, once. Returns the points refunded, or None when
    the market had already ended."""
    reason = (reason or "").strip()
    if not reason:
        raise errors.invalid("Give the reason for cancelling.", field="reason")
    now = now or redis_now()
    with transaction.atomic(), connection.cursor() as cursor:
        if not Market.objects.select_for_update(of=("self",)).filter(pk=market_id).exists():
            raise errors.not_found(market_id)
        cursor.execute(_CLAIM_SQL, {"state": S.CANCELLED, "outcome": None, "now": now, "by": by_user_id,
                                    "reason": reason[:300], "market": market_id})
        if cursor.fetchone() is None:
            return None
        params = {"market": market_id}
        ledger.lock_accounts(cursor, user_ids_sql="SELECT user_id FROM markets_markettrade WHERE market_id = %(market)s",
                             params=params)
        refunded = _credit(cursor, market_id, _REFUND_SOURCE, params, ledger_kind=LedgerEntry.Kind.MARKET_REFUND,
                           payout_kind=MarketPayout.Kind.REFUND, memo=f"Market {market_id} cancelled: {reason}")
        _cancel_stops(market_id, "the market was cancelled")
        total = sum(a for _, a, _ in refunded)
        events.market_event_on_commit(market_id, "cancelled", {"reason": reason, "refunded": total})
    log.info("market %s cancelled (%s): %s points refunded to %s players", market_id, reason, total, len(refunded))
    return total


def market_resolve_auto(*, market_id: int, now: datetime | None = None) -> str:
    """Resolve a closed market by its rule if the data is there; cancel it if its race was
    cancelled; flag it for staff if the data is missing. Returns what happened."""
    now = now or redis_now()
    market = Market.objects.filter(pk=market_id).first()
    if market is None or market.state not in ENDABLE:
        return "ended"
    if market.state == S.OPEN:
        if market.closes_at > now:
            return "open"
        market_close(market_id=market_id, now=now)
    decision = resolvers.decide(market, now)
    if decision.cancel:
        market_cancel(market_id=market_id, reason=decision.cancel, now=now)
        return "cancelled"
    if decision.outcome is not None:
        market_resolve(market_id=market_id, outcome=decision.outcome, reason=decision.reason, now=now)
        if decision.review:
            Market.objects.filter(pk=market_id).update(needs_review=True, review_reason=decision.review[:300])
        return "resolved"
    if decision.review and not market.needs_review:
        Market.objects.filter(pk=market_id).update(needs_review=True, review_reason=decision.review[:300])
    return "waiting"


def markets_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Beat's safety net: close every market past its time, resolve every closed one its data
    allows (each in its own transaction, each safe to run twice)."""
    now = now or redis_now()
    done = {"closed": 0, "resolved": 0, "cancelled": 0}
    for market_id in Market.objects.filter(state=S.OPEN, closes_at__lte=now).values_list("pk", flat=True):
        done["closed"] += market_close(market_id=market_id, now=now)
    pending = (Market.objects.filter(state=S.CLOSED).exclude(resolves_by__type="manual")
               .values_list("pk", flat=True))
    for market_id in pending:
        outcome = market_resolve_auto(market_id=market_id, now=now)
        if outcome in done:
            done[outcome] += 1
    return done
