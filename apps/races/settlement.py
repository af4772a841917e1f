"""Settlement: calculating → completed, every bet scored and paid exactly once, in one transaction.

Order of work (and of locks):
1. claim: ``UPDATE races_race SET state='completed' WHERE id=… AND state='calculating'`` — it
   takes the race row lock first; a second settlement of the same race waits here, then finds
   the race completed and returns. A killed worker's transaction rolls back whole, so a
   retry starts from a clean ``calculating``.
2. lock the points accounts of every bettor, in user id order.
3. score every open bet in memory with apps.races.scoring (no per-bet queries), COPY the
   results into a temporary table, then set-based SQL: UPDATE bets FROM it, payouts as ledger
   entries ``payout:{bet_id}`` inserted with ON CONFLICT DO NOTHING and each balance credited by
   the sum of the entries actually inserted, streaks, the race standings and the leaderboard
   periods — all in the same transaction.
4. after commit: the Redis leaderboards, the "settled" event and badge evaluation.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

from apps.core.redis import redis_now
from apps.leaderboards import periods
from apps.races import credits, events, scoring
from apps.races.models import Race

log = logging.getLogger(__name__)


def checkpoint(name: str) -> None:
    """A no-op marking a point inside the settlement transaction; crash tests replace it."""


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
RETURNING betting_opens_at, starts_at, ends_at
"""
ENTRIES_SQL = """
SELECT s.symbol, e.lane, e.pct_change, e.final_position
FROM races_raceentry e JOIN market_stock s ON s.id = e.stock_id
WHERE e.race_id = %s
"""
STREAKS_SQL = """
SELECT user_id, current FROM leaderboards_playerstreak
WHERE user_id IN (SELECT DISTINCT user_id FROM bets_bet WHERE race_id = %s AND kind = 'winner')
"""
BETS_SQL = """
SELECT id, user_id, kind, stake, symbol, low_pct, high_pct, podium, odds, placed_at
FROM bets_bet WHERE race_id = %s AND status = 'open'
"""
TEMP_SQL = """
CREATE TEMPORARY TABLE settle_bet (
    bet_id bigint PRIMARY KEY, user_id bigint NOT NULL, kind text NOT NULL, stake bigint NOT NULL,
    payout bigint NOT NULL, hit boolean NOT NULL, score jsonb NOT NULL
) ON COMMIT DROP
"""
UPDATE_BETS_SQL = """
UPDATE bets_bet b
SET status = CASE WHEN t.payout > 0 THEN 'won' ELSE 'lost' END, payout = t.payout, score = t.score
FROM settle_bet t
WHERE b.id = t.bet_id AND b.status = 'open'
"""
PAYOUT_SOURCE = "SELECT bet_id, user_id, payout AS amount FROM settle_bet"
STREAK_SQL = """
INSERT INTO leaderboards_playerstreak AS s (user_id, current, best, last_race_id, updated_at)
SELECT user_id, CASE WHEN bool_or(hit) THEN 1 ELSE 0 END, CASE WHEN bool_or(hit) THEN 1 ELSE 0 END, %(race_id)s, now()
FROM settle_bet WHERE kind = 'winner' GROUP BY user_id
ON CONFLICT (user_id) DO UPDATE SET
    current = CASE WHEN EXCLUDED.current = 1 THEN s.current + 1 ELSE 0 END,
    best = GREATEST(s.best, CASE WHEN EXCLUDED.current = 1 THEN s.current + 1 ELSE 0 END),
    last_race_id = EXCLUDED.last_race_id, updated_at = now()
"""
# The per-race leaderboard and the global/weekly/monthly periods count only real players.
STANDINGS_SQL = """
INSERT INTO races_racestanding (race_id, user_id, points_won, staked, bets, wins, rank)
SELECT %(race_id)s, a.user_id, a.points, a.staked, a.bets, a.wins,
       RANK() OVER (ORDER BY a.points DESC)
FROM (SELECT user_id, SUM(payout) AS points, SUM(stake) AS staked, COUNT(*) AS bets,
             COUNT(*) FILTER (WHERE payout > 0) AS wins
      FROM settle_bet GROUP BY user_id) a
JOIN accounts_user u ON u.id = a.user_id AND NOT u.is_house AND NOT u.is_shadow_restricted
ON CONFLICT (race_id, user_id) DO NOTHING
"""
LEADERBOARD_SQL = """
INSERT INTO leaderboards_leaderboardentry AS l (board, period, user_id, points, staked, bets, wins, updated_at)
SELECT p.board, p.period, r.user_id, r.points_won, r.staked, r.bets, r.wins, now()
FROM races_racestanding r
CROSS JOIN (VALUES ('global', ''), ('weekly', %(week)s), ('monthly', %(month)s)) AS p(board, period)
WHERE r.race_id = %(race_id)s
ON CONFLICT (board, period, user_id) DO UPDATE SET
    points = l.points + EXCLUDED.points, staked = l.staked + EXCLUDED.staked,
    bets = l.bets + EXCLUDED.bets, wins = l.wins + EXCLUDED.wins, updated_at = now()
"""


def _score_rows(bets: list[tuple], result: scoring.RaceResult, starts_at: datetime,
                streaks: dict[int, int]) -> list[tuple]:
    """One (bet_id, user_id, kind, stake, payout, hit, score json) per bet, in memory."""
    rows = []
    to_float = scoring.to_float
    for bet_id, user_id, kind, stake, symbol, low, high, podium, odds, placed_at in bets:
        bet = scoring.BetInput(kind=kind, stake=stake, odds=float(odds), symbol=symbol, low_pct=to_float(low),
                               high_pct=to_float(high), podium=tuple(podium) if podium else None,
                               seconds_before_start=(starts_at - placed_at).total_seconds(),
                               streak=streaks.get(user_id, 0))
        payout, breakdown = scoring.bet_score(bet, result)
        hit = kind == "winner" and breakdown["accuracy"] >= 1.0
        rows.append((bet_id, user_id, kind, stake, payout, hit, json.dumps(breakdown, separators=(",", ":"))))
    return rows


def race_settle(*, race_id: int, now: datetime | None = None) -> SettlementResult | None:
    """Settle a race in `calculating`. Returns None when there was nothing to do (already settled,
    being settled by someone else, or not finished)."""
    now = now or redis_now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(CLAIM_SQL, [now, race_id])
        claimed = cursor.fetchone()
        if claimed is None:
            return None
        betting_opens_at, starts_at, ends_at = claimed
        checkpoint("claimed")
        cursor.execute(ENTRIES_SQL, [race_id])
        entries = cursor.fetchall()
        pct = {symbol: float(change) for symbol, _, change, _ in entries}
        order = tuple(symbol for symbol, *_ in sorted(entries, key=lambda e: (e[3], e[1])))
        credits.lock_race_accounts(cursor, race_id)
        cursor.execute("SELECT COUNT(DISTINCT user_id) FROM bets_bet WHERE race_id = %s", [race_id])
        participants = cursor.fetchone()[0]
        cursor.execute(STREAKS_SQL, [race_id])
        streaks = dict(cursor.fetchall())
        cursor.execute(BETS_SQL, [race_id])
        result = scoring.RaceResult(pct=pct, order=order, participants=participants,
                                    window_seconds=(starts_at - betting_opens_at).total_seconds())
        rows = _score_rows(cursor.fetchall(), result, starts_at, streaks)

        # Dropped at commit; dropped here too in case an enclosing transaction settled another race.
        cursor.execute("DROP TABLE IF EXISTS pg_temp.settle_bet")
        cursor.execute(TEMP_SQL)
        with cursor.cursor.copy("COPY settle_bet (bet_id, user_id, kind, stake, payout, hit, score) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(UPDATE_BETS_SQL)
        payouts, paid = credits.credit_bets(cursor, source_sql=PAYOUT_SOURCE, params={}, kind="payout",
                                            prefix="payout", race_id=race_id, memo=f"Payout: race {race_id}")
        checkpoint("paid")
        cursor.execute(STREAK_SQL, {"race_id": race_id})
        week, month = periods.week_key(ends_at), periods.month_key(ends_at)
        cursor.execute(STANDINGS_SQL, {"race_id": race_id})
        cursor.execute(LEADERBOARD_SQL, {"race_id": race_id, "week": week, "month": month})
        Race.objects.filter(pk=race_id).update(participants=participants)
        cursor.execute(
            "INSERT INTO races_racetransition (race_id, from_state, to_state, at, cause) VALUES (%s, %s, %s, %s, %s)",
            [race_id, Race.State.CALCULATING, Race.State.COMPLETED, now,
             f"settled: {len(rows)} bets, {payouts} payouts, {paid} points"],
        )
        winners = sum(1 for r in rows if r[4] > 0)
        checkpoint("before_commit")
        _after_commit(race_id, len(rows), payouts, paid)
    log.info("race %s settled: %s bets, %s payouts, %s points", race_id, len(rows), payouts, paid)
    return SettlementResult(race_id=race_id, bets=len(rows), winners=winners, payouts=payouts, paid=paid)


def _after_commit(race_id: int, bets: int, payouts: int, paid: int) -> None:
    from apps.leaderboards.tasks import leaderboards_sync_race_task

    transaction.on_commit(lambda: leaderboards_sync_race_task.delay(race_id))
    try:
        from apps.badges.tasks import badges_evaluate_race_task  # the badges app may not have one
    except ImportError:
        badges_evaluate_race_task = None
    if badges_evaluate_race_task is not None:
        transaction.on_commit(lambda: badges_evaluate_race_task.delay(race_id))
    events.race_event_on_commit(race_id, "settled", {"bets": bets, "payouts": payouts, "paid": paid})
