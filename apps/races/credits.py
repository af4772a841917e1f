"""Set-based ledger credits for many bets at once (payouts and refunds).

One statement inserts one ledger entry per bet (idempotency key ``{prefix}:{bet_id}``, ON
CONFLICT DO NOTHING) and credits each account by the sum of the entries it actually
inserted, so a credit that already exists is never paid again. The caller holds the
account rows locked (race row first, then accounts by user id) inside its transaction.
"""
from __future__ import annotations

from django.db.backends.utils import CursorWrapper

LOCK_ACCOUNTS_SQL = """
SELECT user_id FROM points_pointsaccount
WHERE user_id IN (SELECT DISTINCT user_id FROM bets_bet WHERE race_id = %s)
ORDER BY user_id
FOR UPDATE
"""

CREDIT_SQL = """
WITH source AS ({source}),
todo AS (
    SELECT s.bet_id, s.user_id, s.amount FROM source s
    WHERE s.amount > 0
      AND NOT EXISTS (SELECT 1 FROM points_ledgerentry l WHERE l.idempotency_key = %(prefix)s || s.bet_id)
),
numbered AS (
    SELECT t.bet_id, t.user_id, t.amount,
           a.balance + SUM(t.amount) OVER (PARTITION BY t.user_id ORDER BY t.bet_id) AS balance_after
    FROM todo t JOIN points_pointsaccount a ON a.user_id = t.user_id
),
inserted AS (
    INSERT INTO points_ledgerentry (user_id, amount, kind, idempotency_key, balance_after, race_id, bet_id,
                                    memo, created_at)
    SELECT n.user_id, n.amount, %(kind)s, %(prefix)s || n.bet_id, n.balance_after, %(race_id)s, n.bet_id,
           %(memo)s, now()
    FROM numbered n
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING user_id, amount
),
per_user AS (SELECT user_id, SUM(amount) AS total, COUNT(*) AS n FROM inserted GROUP BY user_id),
credited AS (
    UPDATE points_pointsaccount a SET balance = a.balance + p.total, updated_at = now()
    FROM per_user p WHERE a.user_id = p.user_id
    RETURNING p.total, p.n
)
SELECT COALESCE(SUM(n), 0), COALESCE(SUM(total), 0) FROM credited
"""


def lock_race_accounts(cursor: CursorWrapper, race_id: int) -> None:
    """Lock the points accounts of everyone who bet in the race, in user id order."""
    cursor.execute(LOCK_ACCOUNTS_SQL, [race_id])


def credit_bets(cursor: CursorWrapper, *, source_sql: str, params: dict, kind: str, prefix: str, race_id: int,
                memo: str) -> tuple[int, int]:
    """Credit one entry per row of ``source_sql`` (columns bet_id, user_id, amount).

    Returns (entries inserted, points credited).
    """
    cursor.execute(CREDIT_SQL.format(source=source_sql),
                   {**params, "kind": kind, "prefix": f"{prefix}:", "race_id": race_id, "memo": memo[:200]})
    count, total = cursor.fetchone()
    return int(count), int(total)
