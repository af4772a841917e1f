"""Session-close snapshots of every portfolio: the history chart and the starting points of the
returns leaderboard's weeks and months. Safe to run twice (one row per player and session)."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from decimal import Decimal

from apps.core.redis import redis_now_ts
from apps.trading.calendar import last_closed_session
from apps.trading.models import PortfolioSnapshot, Position
from apps.trading.selectors import portfolios_value

log = logging.getLogger("stockrace.trading")
CHUNK = 500


def portfolios_snapshot(*, now_ts: float | None = None) -> int:
    """Snapshot, for the latest closed session, every player who ever held a position. Values
    use the quotes of this moment (the task runs minutes after the close). Returns rows written."""
    now_ts = now_ts if now_ts is not None else redis_now_ts()
    session = last_closed_session(now_ts)
    if session is None:
        return 0
    day, _close = session
    done = set(PortfolioSnapshot.objects.filter(session=day).values_list("user_id", flat=True))
    users = sorted(set(Position.objects.values_list("user_id", flat=True).distinct()) - done)
    taken = datetime.fromtimestamp(now_ts, timezone.utc)
    written = 0
    for start in range(0, len(users), CHUNK):
        values = portfolios_value(users[start:start + CHUNK])
        rows = [PortfolioSnapshot(
            user_id=v.user_id, session=day, taken_at=taken, cash=v.cash, collateral=v.collateral,
            market_value=v.market_value.quantize(Decimal("1E-6")),
            open_cost=sum((p.cost_basis for p in v.positions), Decimal(0)).quantize(Decimal("1E-6")),
            unrealized_pnl=v.unrealized_pnl.quantize(Decimal("1E-6")), realized_pnl=v.realized_pnl,
            fees_paid=v.fees_paid) for v in values.values()]
        written += len(PortfolioSnapshot.objects.bulk_create(rows, ignore_conflicts=True))
    log.info("trading: %d portfolio snapshots for the session of %s", written, day)
    return written
