"""Leaderboard writes. PostgreSQL is the truth: RaceStanding rows (written in each settlement
transaction) and LeaderboardEntry, the per-period totals summed from them; Redis sorted sets
serve reads. Every write here is idempotent: totals are re-summed and set (ZADD, never ZINCRBY),
so running a sync twice, or late, changes nothing."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from apps.accounts.eligibility import eligible_q
from apps.core.redis import get_redis
from apps.leaderboards import periods
from apps.leaderboards.models import LeaderboardEntry
from apps.leaderboards.ranks import ON_A_BOARD, redis_ranks
from apps.races.models import Race, RaceStanding
from apps.races.standings import race_standings_restore

log = logging.getLogger(__name__)

BATCH = 5000
ELIGIBLE = eligible_q("user__")
SYNCED_KEY = "lb:synced:{}"
# Period syncs run one at a time, so each sums standings that include every committed race.
SYNC_LOCK = 7_240_001
# Totals per board and period (New York time: ISO weeks from Monday, months from the 1st) summed
# from the race standings; {filter} narrows it to some players and periods.
TOTALS_SQL = """
INSERT INTO leaderboards_leaderboardentry AS l (board, period, user_id, points, staked, bets, wins, updated_at)
SELECT p.board, p.period, s.user_id, SUM(s.points_won), SUM(s.staked), SUM(s.bets), SUM(s.wins), now()
FROM races_racestanding s
JOIN races_race r ON r.id = s.race_id
CROSS JOIN LATERAL (VALUES ('global', ''),
                           ('weekly', to_char(r.ends_at AT TIME ZONE %(tz)s, 'IYYY-"W"IW')),
                           ('monthly', to_char(r.ends_at AT TIME ZONE %(tz)s, 'YYYY-MM'))) AS p(board, period)
WHERE {filter}
GROUP BY p.board, p.period, s.user_id
HAVING SUM(s.points_won) > 0  -- ranks.ON_A_BOARD: on a board once points are won
ON CONFLICT (board, period, user_id) DO UPDATE SET
    points = EXCLUDED.points, staked = EXCLUDED.staked, bets = EXCLUDED.bets, wins = EXCLUDED.wins,
    updated_at = now()
WHERE (l.points, l.staked, l.bets, l.wins) IS DISTINCT FROM (EXCLUDED.points, EXCLUDED.staked, EXCLUDED.bets,
                                                             EXCLUDED.wins)
"""
RACE_FILTER = """s.user_id IN (SELECT user_id FROM races_racestanding WHERE race_id = %(race)s)
  AND p.period IN ('', %(week)s, %(month)s)"""
PLAYER_FILTER = "s.user_id = %(user)s"


def _sum_totals(filter_sql: str, params: dict) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SYNC_LOCK])
        cursor.execute(TOTALS_SQL.format(filter=filter_sql), {**params, "tz": settings.MARKET_TIME_ZONE})


def _zadd_batches(client, key: str, rows: Iterable[tuple[int, int]], *, replace: bool) -> int:
    """ZADD user_id -> points in pipelined batches; with replace, build a fresh key and swap it in."""
    target = f"{key}:rebuild" if replace else key
    pipe = client.pipeline(transaction=False)
    if replace:
        pipe.delete(target)
    count = 0
    batch: dict[str, int] = {}
    for user_id, points in rows:
        batch[str(user_id)] = points
        count += 1
        if len(batch) >= BATCH:
            pipe.zadd(target, batch)
            pipe.execute()
            batch = {}
    if batch:
        pipe.zadd(target, batch)
    if replace:
        if count:
            pipe.rename(target, key)
        else:
            pipe.delete(key)
    pipe.execute()
    return count


def leaderboard_sync_race(*, race_id: int) -> int:
    """After a settlement: re-sum the race's players' global, weekly and monthly totals from the
    standings, then copy them and the race's own board to Redis."""
    race = Race.objects.filter(pk=race_id).only("ends_at").first()
    if race is None:
        return 0
    week, month = periods.week_key(race.ends_at), periods.month_key(race.ends_at)
    _sum_totals(RACE_FILTER, {"race": race_id, "week": week, "month": month})
    client = get_redis()
    standings = list(RaceStanding.objects.filter(race_id=race_id).filter(ELIGIBLE)
                     .values_list("user_id", "points_won"))
    _zadd_batches(client, periods.race_redis_key(race_id), standings, replace=True)
    user_ids = [u for u, _ in standings]
    global_key = periods.redis_key("global", "")
    ranks_before = _ranks(client, global_key, user_ids)
    for board, period in (("global", ""), ("weekly", week), ("monthly", month)):
        rows = (LeaderboardEntry.objects.filter(board=board, period=period, user_id__in=user_ids)
                .filter(ELIGIBLE, ON_A_BOARD).values_list("user_id", "points"))
        _zadd_batches(client, periods.redis_key(board, period), rows.iterator(chunk_size=BATCH), replace=False)
    client.set(SYNCED_KEY.format(race_id), "1", ex=7 * 24 * 3600)
    _announce_rank_changes(user_ids, ranks_before, _ranks(client, global_key, user_ids))
    return len(user_ids)


def _ranks(client, key: str, user_ids: list[int]) -> list[int | None]:
    """Competition ranks (apps.leaderboards.ranks) of many players in one round trip; None when
    not on the board."""
    return redis_ranks(client, key, user_ids) or [None] * len(user_ids)


def _announce_rank_changes(user_ids, before, after) -> None:
    """Tell players who climbed the global board (the toast "You are #N on the global board").
    Queued for the background publisher: thousands of players cost a few pipelined round trips,
    not one each."""
    from apps.core.events import user_event_publish_later

    for user_id, old, new in zip(user_ids, before, after):
        if new is not None and (old is None or new < old):
            try:
                user_event_publish_later(user_id=user_id, payload={"type": "rank_changed", "board": "global",
                                                                   "rank": new, "previous": old})
            except Exception:  # the board is already right; a lost toast is not worth a retry
                log.warning("could not announce rank %s to player %s", new, user_id, exc_info=True)


def leaderboard_sync_pending(*, race_ids: Iterable[int]) -> int:
    """Sync the settled races whose after-commit sync never reported done (a lost task)."""
    client = get_redis()
    done = 0
    for race_id in race_ids:
        if not client.exists(SYNCED_KEY.format(race_id)):
            leaderboard_sync_race(race_id=race_id)
            done += 1
    return done


def leaderboard_remove_user(*, user_id: int) -> None:
    """Take a player off every Redis board at once (bot detection calls this when it restricts
    one; PostgreSQL reads already leave restricted players out)."""
    client = get_redis()
    member = str(user_id)
    pipe = client.pipeline(transaction=False)
    for key in client.scan_iter(match="lb:*", count=1000):
        if not (key.decode() if isinstance(key, bytes) else key).startswith("lb:synced:"):  # strings, not boards
            pipe.zrem(key, member)
    pipe.execute()


def leaderboard_readmit_user(*, user_id: int) -> list[int]:
    """A player cleared by staff counts again in PostgreSQL: the standings of the races settled while
    they were restricted (apps.races.standings), then their totals on every board and period re-summed
    from all their standings. Idempotent. Call it in the transaction that lifts the restriction, and
    ``leaderboard_restore_user`` after its commit for Redis. Returns the races given a standing."""
    races = race_standings_restore(user_id=user_id)
    _sum_totals(PLAYER_FILTER, {"user": user_id})
    return races


def leaderboard_restore_user(*, user_id: int) -> int:
    """Put a player cleared by staff back on the Redis boards that exist, from PostgreSQL (their
    period totals and race standings); returns the boards written."""
    user = get_user_model().objects.filter(pk=user_id).filter(eligible_q()).first()
    if user is None:
        return 0
    client = get_redis()
    rows = [(periods.redis_key(board, period), points) for board, period, points in
            LeaderboardEntry.objects.filter(user_id=user_id).values_list("board", "period", "points")]
    rows += [(periods.race_redis_key(race_id), points) for race_id, points in
             RaceStanding.objects.filter(user_id=user_id).values_list("race_id", "points_won")]
    pipe = client.pipeline(transaction=False)
    for key, _ in rows:
        pipe.exists(key)
    present = pipe.execute() if rows else []
    pipe = client.pipeline(transaction=False)
    written = 0
    for (key, points), exists in zip(rows, present):
        if exists:  # a board Redis lost is rebuilt whole from PostgreSQL on demand
            pipe.zadd(key, {str(user_id): points})
            written += 1
    pipe.execute()
    return written


def leaderboards_rebuild(*, progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Rebuild every Redis board from PostgreSQL: re-sum every period total from the race
    standings, then copy each board-period and each settled race's board into Redis."""
    say = progress or (lambda message: None)
    _sum_totals("true", {})
    say("period totals re-summed from the race standings")
    client = get_redis()
    counts: dict[str, int] = {}
    pairs = list(LeaderboardEntry.objects.values_list("board", "period").distinct().order_by("board", "period"))
    for i, (board, period) in enumerate(pairs, start=1):
        rows = (LeaderboardEntry.objects.filter(board=board, period=period).filter(ELIGIBLE, ON_A_BOARD)
                .values_list("user_id", "points").iterator(chunk_size=BATCH))
        key = periods.redis_key(board, period)
        counts[key] = _zadd_batches(client, key, rows, replace=True)
        say(f"[{i}/{len(pairs)}] {key}: {counts[key]} players")
    race_ids = list(RaceStanding.objects.values_list("race_id", flat=True).distinct().order_by("race_id"))
    for i, race_id in enumerate(race_ids, start=1):
        rows = (RaceStanding.objects.filter(race_id=race_id).filter(ELIGIBLE)
                .values_list("user_id", "points_won").iterator(chunk_size=BATCH))
        key = periods.race_redis_key(race_id)
        counts[key] = _zadd_batches(client, key, rows, replace=True)
        if i % 100 == 0 or i == len(race_ids):
            say(f"races: {i}/{len(race_ids)} boards rebuilt")
    return counts
