"""Copy-betting: after a race settles, which pairs of accounts placed the same bet — same kind,
pick and stake — within seconds of each other. One statement per race, once per race.

A pick every second player makes (a favourite at a round stake) is not a pattern, so a group of
identical bets larger than COPY_MAX_GROUP is left out; the pairs that repeat race after race
are what the coordination signal scores (apps.botdetect.signals).
"""
from __future__ import annotations

from django.db import connection, transaction

COPY_WINDOW_SECONDS = 3.0
COPY_MAX_GROUP = 500

MATCH_SQL = """
WITH claim AS (
    INSERT INTO botdetect_processedrace (race_id, at) VALUES (%(race)s, now())
    ON CONFLICT DO NOTHING RETURNING race_id
),
b AS (
    SELECT b.user_id, b.kind, b.stake, b.symbol, b.low_pct, b.high_pct, b.podium, b.placed_at,
           COUNT(*) OVER (PARTITION BY b.kind, b.stake, b.symbol, b.low_pct, b.high_pct, b.podium) AS group_size
    FROM bets_bet b JOIN accounts_user u ON u.id = b.user_id AND NOT u.is_house
    WHERE b.race_id = %(race)s AND b.status <> 'refunded' AND EXISTS (SELECT 1 FROM claim)
),
pairs AS (
    SELECT a.user_id AS lo, c.user_id AS hi, MIN(a.placed_at) AS at
    FROM b a JOIN b c ON a.user_id < c.user_id AND a.kind = c.kind AND a.stake = c.stake
        AND a.symbol IS NOT DISTINCT FROM c.symbol AND a.low_pct IS NOT DISTINCT FROM c.low_pct
        AND a.high_pct IS NOT DISTINCT FROM c.high_pct AND a.podium IS NOT DISTINCT FROM c.podium
        AND abs(EXTRACT(EPOCH FROM a.placed_at - c.placed_at)) <= %(window)s
    WHERE a.group_size <= %(cap)s
    GROUP BY a.user_id, c.user_id
)
INSERT INTO botdetect_copymatch (race_id, user_lo_id, user_hi_id, at)
SELECT %(race)s, lo, hi, at FROM pairs
ON CONFLICT DO NOTHING
"""


def copies_find(*, race_id: int) -> int:
    """Record the race's copy matches (nothing if the race was processed before); returns how many."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(MATCH_SQL, {"race": race_id, "window": COPY_WINDOW_SECONDS, "cap": COPY_MAX_GROUP})
        return cursor.rowcount
