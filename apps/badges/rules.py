"""The SQL that turns the catalog's rules into (player, badge) pairs for one completed race.

One statement: the common expressions the rules share (see apps.badges.catalog), then every
active badge's rule, joined to the badge rows. Races are ordered by when they settled
(``COALESCE(settled_at, ends_at)``, then id), the order settlement updates streaks in; the streak
itself is read from what settlement stored on the race's bets, never derived a second time.
"""
from __future__ import annotations

from apps.accounts.eligibility import eligible_sql
from apps.badges.catalog import CATALOG, BadgeSpec
from apps.races.outcomes import right_sql

COMMON_SQL = f"""
cur AS (
    SELECT id, duration, COALESCE(settled_at, ends_at) AS at
    FROM races_race WHERE id = %(race)s AND state = 'completed'
),
played AS (
    SELECT b.user_id, b.kind, b.status, b.odds, b.low_pct, b.high_pct, b.podium, b.payout, b.streak_before,
           {right_sql('b')} AS correct  -- fully right; a partial podium pays but is not (apps.races.outcomes)
    FROM bets_bet b JOIN accounts_user u ON u.id = b.user_id
    WHERE b.race_id = (SELECT id FROM cur) AND b.status IN ('won', 'lost')
      AND {eligible_sql('u')}
),
-- The streak ending at this race is the one settlement stored (apps.races.settlement.STREAK_SQL):
-- when every winner bet of the player here was right, the run the bets carried in (streak_before,
-- written on each bet at settlement) plus this race; a race with a wrong winner pick has none.
winner_streak AS (
    SELECT user_id, MAX(streak_before) + 1 AS streak FROM played
    WHERE kind = 'winner' GROUP BY user_id HAVING bool_and(status = 'won')
),
races_played AS (
    SELECT b.user_id, COUNT(DISTINCT b.race_id) AS n
    FROM bets_bet b JOIN races_race r ON r.id = b.race_id CROSS JOIN cur
    WHERE b.user_id IN (SELECT user_id FROM played) AND b.status IN ('won', 'lost') AND r.state = 'completed'
      AND (COALESCE(r.settled_at, r.ends_at), r.id) <= (cur.at, cur.id)
    GROUP BY b.user_id
)
"""


def candidates_sql(specs: tuple[BadgeSpec, ...] = CATALOG) -> tuple[str, dict]:
    """``WITH …, candidates AS (code, user_id)`` for the given rules, and their parameters.

    The caller appends the statement that reads ``candidates``.
    """
    params: dict = {}
    parts = []
    for i, spec in enumerate(specs):
        overlap = params.keys() & spec.params.keys()
        if overlap or "race" in spec.params:
            raise ValueError(f"badge {spec.code}: parameter names {sorted(overlap)} are taken")
        params.update(spec.params)
        params[f"code_{i}"] = spec.code
        parts.append(f"SELECT %(code_{i})s::text AS code, q.user_id FROM ({spec.rule}) q")
    return "WITH " + COMMON_SQL + ",\ncandidates AS (\n" + "\nUNION\n".join(parts) + "\n)\n", params


# Insert in (user, badge) order: two runs of the same race wait on the same first row instead
# of deadlocking, and the second finds every row taken (ON CONFLICT DO NOTHING).
AWARD_SQL = """
INSERT INTO badges_userbadge (user_id, badge_id, race_id, awarded_at)
SELECT c.user_id, b.id, %(race)s, %(now)s
FROM candidates c
JOIN badges_badge b ON b.code = c.code AND b.active
JOIN points_pointsaccount a ON a.user_id = c.user_id  -- the reward needs an account; bettors all have one
WHERE NOT EXISTS (SELECT 1 FROM badges_userbadge ub WHERE ub.user_id = c.user_id AND ub.badge_id = b.id)
ORDER BY c.user_id, b.id
ON CONFLICT (user_id, badge_id) DO NOTHING
RETURNING user_id, badge_id
"""

# The rewards of the awarded badges, one ledger credit each (key badge:{code}:{user_id}), paid by
# apps.points.ledger.credit_many: a reward already in the ledger is never paid again.
REWARD_SOURCE = """
SELECT a.user_id, b.reward::bigint AS amount, 'badge:' || b.code || ':' || a.user_id AS key,
       NULL::bigint AS bet_id, 'Badge: ' || b.name AS memo
FROM unnest(%(users)s::bigint[], %(badges)s::bigint[]) AS a(user_id, badge_id)
JOIN badges_badge b ON b.id = a.badge_id
WHERE b.reward > 0
"""

# Missing catalog badges are inserted; rows already there keep staff's edits (name,
# description, reward, active) and take the code-owned fields (icon, tier, position) only when
# they differ, so a sync that changes nothing writes nothing.
SYNC_SQL = """
INSERT INTO badges_badge (code, name, description, icon, tier, reward, active, position)
SELECT * FROM unnest(%(codes)s::text[], %(names)s::text[], %(descriptions)s::text[], %(icons)s::text[],
                     %(tiers)s::text[], %(rewards)s::int[], %(actives)s::bool[], %(positions)s::int[])
ON CONFLICT (code) DO {conflict}
RETURNING code, (xmax = 0) AS created
"""
SYNC_UPDATE = """UPDATE SET icon = EXCLUDED.icon, tier = EXCLUDED.tier, position = EXCLUDED.position
WHERE (badges_badge.icon, badges_badge.tier, badges_badge.position)
      IS DISTINCT FROM (EXCLUDED.icon, EXCLUDED.tier, EXCLUDED.position)"""
