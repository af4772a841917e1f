"""Leaderboard writes to Redis. PostgreSQL (LeaderboardEntry, RaceStanding) is the truth;
these copy it into sorted sets, idempotently (ZADD with the stored totals, never ZINCRBY)."""
from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db.models import Q

from apps.core.redis import get_redis
from apps.leaderboards import periods
from apps.leaderboards.models import LeaderboardEntry
from apps.races.models import Race, RaceStanding

BATCH = 5000
ELIGIBLE = Q(user__is_house=False, user__is_shadow_restricted=False)


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
    """After a settlement: copy the race's standings and its players' period totals to Redis."""
    race = Race.objects.filter(pk=race_id).only("ends_at").first()
    if race is None:
        return 0
    client = get_redis()
    standings = list(RaceStanding.objects.filter(race_id=race_id).filter(ELIGIBLE)
                     .values_list("user_id", "points_won"))
    _zadd_batches(client, periods.race_redis_key(race_id), standings, replace=True)
    user_ids = [u for u, _ in standings]
    boards = [("global", ""), ("weekly", periods.week_key(race.ends_at)), ("monthly", periods.month_key(race.ends_at))]
    for board, period in boards:
        rows = (LeaderboardEntry.objects.filter(board=board, period=period, user_id__in=user_ids).filter(ELIGIBLE)
                .values_list("user_id", "points"))
        _zadd_batches(client, periods.redis_key(board, period), rows.iterator(chunk_size=BATCH), replace=False)
    return len(user_ids)


def leaderboard_remove_user(*, user_id: int) -> None:
    """Take a player off every Redis board (bot detection calls this when it restricts one)."""
    client = get_redis()
    member = str(user_id)
    for key in client.scan_iter(match="lb:*", count=1000):
        client.zrem(key, member)


def leaderboards_rebuild(*, progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Rebuild every Redis board from PostgreSQL: each board-period and each settled race."""
    say = progress or (lambda message: None)
    client = get_redis()
    counts: dict[str, int] = {}
    pairs = list(LeaderboardEntry.objects.values_list("board", "period").distinct().order_by("board", "period"))
    for i, (board, period) in enumerate(pairs, start=1):
        rows = (LeaderboardEntry.objects.filter(board=board, period=period).filter(ELIGIBLE)
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
