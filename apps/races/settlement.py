"""Settlement: calculating → completed, every bet scored and paid exactly once, in one transaction.

Order of work (and of locks):
1. claim: ``UPDATE races_race SET state='completed' WHERE id=… AND state='calculating'`` — it
   takes the race row lock first; a second settlement of the same race waits here, then finds
   the race completed and returns. A killed worker's transaction rolls back whole, so a
   retry starts from a clean ``calculating``.
2. lock the points accounts of every bettor, in user id order.
3. one set-based statement scores every open bet (apps.races.scoring's algorithm in SQL) and
   updates the bets in place (payout, status and the streak the breakdown needs: fixed-width
   columns on pages kept half free, so no index is touched), keeping (bet, player, payout) in a
   temporary table; then payouts as ledger
   entries ``payout:{bet_id}`` inserted with ON CONFLICT DO NOTHING and each balance credited by
   the sum of the entries actually inserted, streaks and the race standings (each player's
   points won in the race: the truth every leaderboard is summed from) — all in the same
   transaction, no Python loop over bets.
4. after commit: the period totals (global, weekly, monthly) re-summed from the standings and
   copied into Redis (idempotent; the cleanup task re-runs it if the task was lost), the
   "settled" event and badge evaluation.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

from apps.accounts.eligibility import eligible_sql
from apps.core.redis import redis_now
from apps.points import ledger
from apps.races import events, scoring
from apps.races.models import Race

log = logging.getLogger(__name__)


# Called with the race id after each settlement commits: the higher layers register here in
# their AppConfig.ready (apps.leaderboards its board sync, apps.badges the badge evaluation,
# apps.botdetect its rescoring), so the races app imports nothing of them.
after_settled: list = []


def checkpoint(name: str) -> None:
    """A no-op marking a point inside the settlement transaction; crash tests replace it."""


class SettlementError(RuntimeError):
    """The race cannot be settled (its results were never locked); the transaction rolls back."""


@dataclass(frozen=True)
class SettlementResult:
    race_id: int
    bets: int
    winners: int
    payouts: int
    paid: int


CLAIM_SQL = """
UPDATE races_race SET state = 'completed', settled_at = %s
WHERE id = %s AND state = 'calculating'
RETURNING betting_opens_at, starts_at
"""
ENTRIES_SQL = """
SELECT s.symbol, e.lane, e.pct_change, e.final_position
FROM races_raceentry e JOIN market_stock s ON s.id = e.stock_id
WHERE e.race_id = %s
"""
TEMP_SQL = """
CREATE TEMPORARY TABLE settle_bet (  -- only ever scanned whole: no index to maintain
    bet_id bigint NOT NULL, user_id bigint NOT NULL, kind text NOT NULL, stake bigint NOT NULL,
    payout bigint NOT NULL, hit boolean NOT NULL  -- fully right (accuracy 1): apps.races.outcomes
) ON COMMIT DROP
"""
# apps.races.scoring.bet_score, set-based: the same float8 operations in the same order (the
# per-race participants factor comes in as a parameter, computed by scoring.participants_factor;
# the timing factor was fixed on each bet when it was placed).
SCORE_SQL = """
WITH entry AS (
    SELECT s.symbol, e.pct_change::float8 AS pct
    FROM races_raceentry e JOIN market_stock s ON s.id = e.stock_id WHERE e.race_id = %(race)s
),
factors AS (
    SELECT b.id, b.user_id, b.kind, b.stake, b.odds::float8 AS odds,
        CASE b.kind
            WHEN 'winner' THEN CASE WHEN b.symbol = %(t1)s THEN 1.0::float8 ELSE 0.0::float8 END
            WHEN 'bracket' THEN CASE WHEN b.low_pct::float8 <= e.pct AND e.pct <= b.high_pct::float8
                                     THEN 1.0::float8 ELSE 0.0::float8 END
            ELSE CASE WHEN cardinality(b.podium) = 3 AND b.podium[1] = %(t1)s AND b.podium[2] = %(t2)s
                           AND b.podium[3] = %(t3)s THEN 1.0::float8
                 ELSE %(exact_w)s::float8 * (COALESCE(b.podium[1] = %(t1)s, false)::int
                                             + COALESCE(b.podium[2] = %(t2)s, false)::int
                                             + COALESCE(b.podium[3] = %(t3)s, false)::int)
                      + %(top3_w)s::float8 * (COALESCE(b.podium[1] IN (%(t2)s, %(t3)s), false)::int
                                              + COALESCE(b.podium[2] IN (%(t1)s, %(t3)s), false)::int
                                              + COALESCE(b.podium[3] IN (%(t1)s, %(t2)s), false)::int) END
        END AS acc,
        b.timing AS timing,
        COALESCE(st.current, 0) AS streak_before
    FROM bets_bet b
    LEFT JOIN entry e ON e.symbol = b.symbol AND b.kind = 'bracket'
    LEFT JOIN leaderboards_playerstreak st ON st.user_id = b.user_id AND b.kind = 'winner'
    WHERE b.race_id = %(race)s AND b.status = 'open'
),
multiplied AS (
    SELECT f.*,
        CASE WHEN f.kind = 'winner' AND f.acc >= 1.0
             THEN 1.0::float8 + %(streak_w)s::float8 * LEAST(GREATEST(0, f.streak_before), %(streak_max)s)
             ELSE 1.0::float8 END AS streak_f
    FROM factors f
),
scored AS (
    SELECT m.*,
        CASE WHEN m.acc > 0
             THEN ((((m.stake::float8 * m.odds) * m.acc) * m.timing) * %(part)s::float8) * m.streak_f
             ELSE 0.0::float8 END AS total
    FROM multiplied m
),
updated AS (
    UPDATE bets_bet b SET
        payout = floor(s.total + %(eps)s::float8)::bigint,
        status = CASE WHEN floor(s.total + %(eps)s::float8) > 0 THEN 'won' ELSE 'lost' END,
        streak_before = LEAST(s.streak_before, 32767)
    FROM scored s
    WHERE b.id = s.id
    RETURNING b.id, b.user_id, b.kind, b.stake, b.payout, s.acc >= 1.0
)
INSERT INTO settle_bet (bet_id, user_id, kind, stake, payout, hit) SELECT * FROM updated
"""
PAYOUT_SOURCE = "SELECT user_id, payout AS amount, 'payout:' || bet_id AS key, bet_id, NULL::text AS memo FROM settle_bet"
# The participants factor counts eligible players only: neither house nor shadow-restricted accounts
# raise a race's payouts (apps.accounts.eligibility).
PARTICIPANTS_SQL = (f"SELECT COUNT(DISTINCT b.user_id) FROM bets_bet b JOIN accounts_user u ON u.id = b.user_id "
                    f"WHERE b.race_id = %s AND {eligible_sql('u')}")
# Everyone who bet in the race (their accounts are locked, in user id order, before scoring).
BETTORS_SQL = "SELECT DISTINCT user_id FROM bets_bet WHERE race_id = %(race_id)s"
# A race extends a player's streak only when every winner bet they had in it was right (hedging on
# every stock ends it); a race without a winner bet of theirs leaves it alone.
STREAK_SQL = """
INSERT INTO leaderboards_playerstreak AS s (user_id, current, best, last_race_id, updated_at)
SELECT user_id, CASE WHEN bool_and(hit) THEN 1 ELSE 0 END, CASE WHEN bool_and(hit) THEN 1 ELSE 0 END, %(race_id)s, now()
FROM settle_bet WHERE kind = 'winner' GROUP BY user_id
ON CONFLICT (user_id) DO UPDATE SET
    current = CASE WHEN EXCLUDED.current = 1 THEN s.current + 1 ELSE 0 END,
    best = GREATEST(s.best, CASE WHEN EXCLUDED.current = 1 THEN s.current + 1 ELSE 0 END),
    last_race_id = EXCLUDED.last_race_id, updated_at = now()
"""
# The per-race leaderboard counts only eligible players (apps.accounts.eligibility). It is the
# truth the global, weekly and monthly boards are summed from (after commit). ``wins`` counts the
# bets that were fully right: a partial podium pays a share but is no correct call (apps.races.outcomes).
STANDINGS_SQL = f"""
INSERT INTO races_racestanding (race_id, user_id, points_won, staked, bets, wins, rank)
SELECT %(race_id)s, a.user_id, a.points, a.staked, a.bets, a.wins,
       RANK() OVER (ORDER BY a.points DESC)
FROM (SELECT user_id, SUM(payout) AS points, SUM(stake) AS staked, COUNT(*) AS bets,
             COUNT(*) FILTER (WHERE hit) AS wins
      FROM settle_bet GROUP BY user_id) a
JOIN accounts_user u ON u.id = a.user_id AND {eligible_sql('u')}
ON CONFLICT (race_id, user_id) DO NOTHING
"""


def race_settle(*, race_id: int, now: datetime | None = None) -> SettlementResult | None:
    """Settle a race in `calculating`. Returns None when there was nothing to do (already settled,
    being settled by someone else, or not finished)."""
    now = now or redis_now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(CLAIM_SQL, [now, race_id])
        if cursor.fetchone() is None:
            return None
        checkpoint("claimed")
        cursor.execute(ENTRIES_SQL, [race_id])
        entries = cursor.fetchall()
        if len(entries) < 3 or any(pct is None or position is None for _, _, pct, position in entries):
            raise SettlementError(f"race {race_id} has no locked results to settle")
        order = [symbol for symbol, *_ in sorted(entries, key=lambda e: (e[3], e[1]))]
        ledger.lock_accounts(cursor, user_ids_sql=BETTORS_SQL, params={"race_id": race_id})
        cursor.execute(PARTICIPANTS_SQL, [race_id])
        participants = cursor.fetchone()[0]
        # Dropped at commit; dropped here too in case an enclosing transaction settled another race.
        cursor.execute("DROP TABLE IF EXISTS pg_temp.settle_bet")
        cursor.execute(TEMP_SQL)
        cursor.execute(SCORE_SQL, {
            "race": race_id, "t1": order[0], "t2": order[1], "t3": order[2],
            "part": scoring.participants_factor(participants), "exact_w": scoring.PODIUM_EXACT_POSITION,
            "top3_w": scoring.PODIUM_IN_TOP3, "streak_w": scoring.STREAK_STEP,
            "streak_max": scoring.STREAK_MAX_STEPS, "eps": scoring.FLOOR_EPSILON,
        })
        cursor.execute("SELECT COUNT(*), COUNT(*) FILTER (WHERE payout > 0) FROM settle_bet")
        bet_count, winners = cursor.fetchone()
        credited = ledger.credit_many(cursor, source_sql=PAYOUT_SOURCE, kind=ledger.Kind.PAYOUT, race_id=race_id,
                                      memo=f"Payout: race {race_id}")
        payouts, paid = credited.entries, credited.points
        checkpoint("paid")
        cursor.execute(STREAK_SQL, {"race_id": race_id})
        cursor.execute(STANDINGS_SQL, {"race_id": race_id})
        Race.objects.filter(pk=race_id).update(participants=participants)
        cursor.execute(
            "INSERT INTO races_racetransition (race_id, from_state, to_state, at, cause) VALUES (%s, %s, %s, %s, %s)",
            [race_id, Race.State.CALCULATING, Race.State.COMPLETED, now,
             f"settled: {bet_count} bets, {payouts} payouts, {paid} points"],
        )
        checkpoint("before_commit")
        _after_commit(race_id, bet_count, payouts, paid)
    log.info("race %s settled: %s bets, %s payouts, %s points", race_id, bet_count, payouts, paid)
    return SettlementResult(race_id=race_id, bets=bet_count, winners=winners, payouts=payouts, paid=paid)


def _after_commit(race_id: int, bets: int, payouts: int, paid: int) -> None:
    events.race_event_on_commit(race_id, "settled", {"bets": bets, "payouts": payouts, "paid": paid})
    events.players_notify_on_commit(race_id=race_id, event_type="race_settled")
    for hook in after_settled:
        transaction.on_commit(lambda hook=hook: hook(race_id))
