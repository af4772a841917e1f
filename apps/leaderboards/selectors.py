"""Leaderboard reads: pages of a board from Redis (PostgreSQL when Redis lost it), a player's rank."""
from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from apps.accounts.eligibility import eligible_q
from apps.core.redis import get_redis, redis_now
from apps.leaderboards import periods
from apps.leaderboards.models import LeaderboardEntry, PlayerStreak
from apps.leaderboards.ranks import ON_A_BOARD, db_rank, redis_ranks
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
    found = redis_ranks(client, key, [m for m, _ in members]) if members else []
    if found is None:  # the board went away between the two calls
        return None
    return count, [(rank, int(member), int(score)) for rank, (member, score) in zip(found, members)]


def _board_queryset(board: str, period: str):
    return LeaderboardEntry.objects.filter(eligible_q("user__"), ON_A_BOARD, board=board, period=period)


def board_page(*, board: str, period: str | None = None, offset: int = 0, limit: int = 25) -> BoardPage:
    """A page of a board; ``period`` None means the current week or month (New York time)."""
    if period is None:
        period = periods.current_period(board, redis_now())
    from_redis = _page_from_redis(periods.redis_key(board, period), offset, limit)
    if from_redis is None:
        qs = _board_queryset(board, period)
        count = qs.count()
        ranked = []
        rows = qs.order_by("-points", "user_id").values_list("user_id", "points")[offset:offset + limit]
        for user_id, points in rows:
            rank = ranked[-1][0] if ranked and points == ranked[-1][2] else db_rank(qs, points)
            ranked.append((rank, user_id, points))
    else:
        count, ranked = from_redis
    return BoardPage(board=board, period=period, count=count, rows=_decorate(ranked))


def race_board_page(*, race_id: int, offset: int = 0, limit: int = 25) -> BoardPage:
    from_redis = _page_from_redis(periods.race_redis_key(race_id), offset, limit)
    if from_redis is None:
        qs = RaceStanding.objects.filter(eligible_q("user__"), race_id=race_id)
        count = qs.count()
        ranked = [(rank, user_id, points) for rank, user_id, points in
                  qs.order_by("rank", "user_id").values_list("rank", "user_id", "points_won")[offset:offset + limit]]
    else:
        count, ranked = from_redis
    return BoardPage(board="race", period=str(race_id), count=count, rows=_decorate(ranked))


def player_rank(user_id: int, board: str = "global", period: str | None = None) -> int | None:
    """A player's competition rank on a board (current period by default), None if unranked:
    from Redis, or from PostgreSQL while Redis does not hold the board."""
    if board not in BOARDS:
        raise ValueError(f"unknown board {board!r}")
    if period is None:
        period = periods.current_period(board, redis_now())
    found = redis_ranks(get_redis(), periods.redis_key(board, period), [user_id])
    if found is not None:
        return found[0]
    points = _board_queryset(board, period).filter(user_id=user_id).values_list("points", flat=True).first()
    return None if points is None else db_rank(_board_queryset(board, period), points)


def me_rank(user_id: int) -> int | None:
    """The player's global rank for /api/v1/me/ (registered with apps.points.selectors): Redis
    only, one round trip; None when unranked or while Redis does not hold the board."""
    found = redis_ranks(get_redis(), periods.redis_key("global"), [user_id])
    return found[0] if found else None


def player_streak(user_id: int) -> dict:
    streak = PlayerStreak.objects.filter(user_id=user_id).first()
    return {"current": streak.current if streak else 0, "best": streak.best if streak else 0}
