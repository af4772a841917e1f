"""Race standings written after settlement: a player cleared by staff gets the standings of the
races settled while they were shadow-restricted (settlement left them out: apps.accounts.eligibility).

The rows are what settlement would have written (apps.races.settlement.STANDINGS_SQL: points won,
staked, bets, right bets as wins), read from the player's settled bets, set-based; each race's
competition rank is then recomputed. Idempotent: a race that has the player's standing is never
touched again, so a second clear writes nothing.
"""
from __future__ import annotations

from django.db import connection

from apps.accounts.eligibility import eligible_sql
from apps.races.outcomes import right_sql

MISSING_SQL = f"""
INSERT INTO races_racestanding (race_id, user_id, points_won, staked, bets, wins, rank)
SELECT b.race_id, b.user_id, SUM(b.payout), SUM(b.stake), COUNT(*), COUNT(*) FILTER (WHERE {right_sql('b')}),
       0  -- ranked below, with the rest of the race
FROM bets_bet b
JOIN races_race r ON r.id = b.race_id AND r.state = 'completed'
JOIN accounts_user u ON u.id = b.user_id AND {eligible_sql('u')}
WHERE b.user_id = %(user)s AND b.status IN ('won', 'lost')
  AND NOT EXISTS (SELECT 1 FROM races_racestanding s WHERE s.race_id = b.race_id AND s.user_id = b.user_id)
GROUP BY b.race_id, b.user_id
ORDER BY b.race_id
ON CONFLICT (race_id, user_id) DO NOTHING
RETURNING race_id
"""
# Settlement's rank: RANK() by points won, highest first (ties share a rank), per race.
RERANK_SQL = """
UPDATE races_racestanding s SET rank = ranked.rank
FROM (SELECT id, RANK() OVER (PARTITION BY race_id ORDER BY points_won DESC) AS rank
      FROM races_racestanding WHERE race_id = ANY(%(races)s)) ranked
WHERE s.id = ranked.id AND s.rank <> ranked.rank
"""


def race_standings_restore(*, user_id: int) -> list[int]:
    """Insert the standings an eligible player is missing in completed races where they had settled
    bets, and re-rank those races; returns the race ids written (none for a restricted player, or
    for a second call). Call it inside the transaction that lifts the restriction."""
    with connection.cursor() as cursor:
        cursor.execute(MISSING_SQL, {"user": user_id})
        races = [race_id for (race_id,) in cursor.fetchall()]
        if races:
            cursor.execute(RERANK_SQL, {"races": races})
    return races
