"""Refunding every open bet of a race, set-based: ledger kind=refund, key ``refund:{bet_id}``."""
from __future__ import annotations

from django.db import connection

from apps.races import credits

REFUND_SOURCE = "SELECT id AS bet_id, user_id, stake AS amount FROM bets_bet WHERE race_id = %(race_id)s AND status = 'open'"


def refund_open_bets(*, race_id: int, memo: str) -> tuple[int, int]:
    """Refund and close every open bet of the race. Must run inside the caller's transaction,
    after the race row is locked. Returns (refunds posted, points refunded)."""
    with connection.cursor() as cursor:
        credits.lock_race_accounts(cursor, race_id)
        result = credits.credit_bets(cursor, source_sql=REFUND_SOURCE, params={"race_id": race_id},
                                     kind="refund", prefix="refund", race_id=race_id, memo=memo)
        cursor.execute("UPDATE bets_bet SET status = 'refunded', payout = 0 WHERE race_id = %s AND status = 'open'",
                       [race_id])
    return result
