"""Leaderboard reads: pages of a board from Redis (PostgreSQL when Redis lost it), a player's rank."""
from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from apps.core.redis import get_redis, redis_now
from apps.leaderboards import periods
from apps.leaderboards.models import LeaderboardEntry, PlayerStreak
from apps.races.models import RaceStanding

BOARDS = ("global", "weekly", "monthly")


@dataclass(frozen=True)
class BoardPage:
    board: str
    period: str
    count: int
    rows: list[dict]  # rank, user_id, username, points, streak, best_streak


def _decorate(ranked: list[tuple[int, int, int]]) -> list[dict]:
    """(rank, user_id, points) -> rows with usernames and streaks, in two queries."""
    user_ids = [u for _, u, _ in ranked]
    names = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "username"))
    streaks = {s.user_id: s for s in PlayerStreak.objects.filter(user_id__in=user_ids)}
    rows = []
    for rank, user_id, points in ranked:
        streak = streaks.get(user_id)
        rows.append({"rank": rank, "user_id": user_id, "username": names.get(user_id, ""), "points": points,
                     "streak": streak.current if streak else 0, "best_streak": streak.best if streak else 0})
    return rows


def _page_from_redis(key: str, offset: int, limit: int) -> tuple[int, list[tuple[int, int, int]]] | None:
    client = get_redis()
    pipe = client.pipeline(transaction=False)
    pipe.exists(key)
    pipe.zcard(key)
    pipe.zrevrange(key, offset, offset + limit - 1, withscores=True)
    exists, count, members = pipe.execute()
    if not exists:
        return None
    # Competition ranking (1, 2, 2, 4): one more than the number of players with more points.
    pipe = client.pipeline(transaction=False)
    for _, score in members:
        pipe.zcount(key, f"({int(score)}", "+inf")
    above = pipe.execute() if members else []
    ranked = [(n + 1, int(member), int(score)) for n, (member, score) in zip(above, members)]
    return count, ranked


def _board_queryset(board: str, period: str):
    return (LeaderboardEntry.objects.filter(board=board, period=period, user__is_house=False,
                                            user__is_shadow_restricted=False))


def board_page(*, board: str, period: str | None = None, offset: int = 0, limit: int = 25) -> BoardPage:
    """A page of a board; ``period`` None means the current week or month (New York time)."""
    if period is None:
        period = periods.current_period(board, redis_now())
    from_redis = _page_from_redis(periods.redis_key(board, period), offset, limit)
    if from_redis is None:
        qs = _board_queryset(board, period)
        count = qs.count()
        ranked = []
        for i, (user_id, points) in enumerate(qs.order_by("-points", "user_id")
                                              .values_list("user_id", "points")[offset:offset + limit]):
            if ranked and points == ranked[-1][2]:
                rank = ranked[-1][0]
            else:
                rank = qs.filter(points__gt=points).count() + 1
            ranked.append((rank, user_id, points))
    else:
        count, ranked = from_redis
    return BoardPage(board=board, period=period, count=count, rows=_decorate(ranked))


def race_board_page(*, race_id: int, offset: int = 0, limit: int = 25) -> BoardPage:
    from_redis = _page_from_redis(periods.race_redis_key(race_id), offset, limit)
    if from_redis is None:
        qs = RaceStanding.objects.filter(race_id=race_id, user__is_house=False, user__is_shadow_restricted=False)
        count = qs.count()
        ranked = [(rank, user_id, points) for rank, user_id, points in
                  qs.order_by("rank", "user_id").values_list("rank", "user_id", "points_won")[offset:offset + limit]]
    else:
        count, ranked = from_redis
    return BoardPage(board="race", period=str(race_id), count=count, rows=_decorate(ranked))


def player_rank(user_id: int, board: str = "global", period: str | None = None) -> int | None:
    """1-based competition rank of a player on a board (current period by default), None if unranked."""
    if board not in BOARDS:
        raise ValueError(f"unknown board {board!r}")
    if period is None:
        period = periods.current_period(board, redis_now())
    key = periods.redis_key(board, period)
    client = get_redis()
    pipe = client.pipeline(transaction=False)
    pipe.exists(key)
    pipe.zscore(key, str(user_id))
    exists, score = pipe.execute()
    if exists:
        if score is None:
            return None
        return client.zcount(key, f"({int(score)}", "+inf") + 1
    entry = _board_queryset(board, period).filter(user_id=user_id).values_list("points", flat=True).first()
    if entry is None:
        return None
    return _board_queryset(board, period).filter(points__gt=entry).count() + 1


def player_streak(user_id: int) -> dict:
    streak = PlayerStreak.objects.filter(user_id=user_id).first()
    return {"current": streak.current if streak else 0, "best": streak.best if streak else 0}
