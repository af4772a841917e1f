"""Refunding every open bet of a race, set-based: ledger kind=refund, key ``refund:{bet_id}``."""
from __future__ import annotations

from django.db import connection

from apps.points import ledger
from apps.races.settlement import BETTORS_SQL

REFUND_SOURCE = """
SELECT user_id, stake AS amount, 'refund:' || id AS key, id AS bet_id, NULL::text AS memo
FROM bets_bet WHERE race_id = %(race_id)s AND status = 'open'
"""


def refund_open_bets(*, race_id: int, memo: str) -> tuple[int, int]:
    """Refund and close every open bet of the race. Must run inside the caller's transaction,
    after the race row is locked. Returns (refunds posted, points refunded)."""
    with connection.cursor() as cursor:
        ledger.lock_accounts(cursor, user_ids_sql=BETTORS_SQL, params={"race_id": race_id})
        credited = ledger.credit_many(cursor, source_sql=REFUND_SOURCE, params={"race_id": race_id},
                                      kind=ledger.Kind.REFUND, race_id=race_id, memo=memo)
        cursor.execute("UPDATE bets_bet SET status = 'refunded', payout = 0 WHERE race_id = %s AND status = 'open'",
                       [race_id])
    return credited.entries, credited.points
