"""Points reads: the /me/ summary and a player's ledger."""
from __future__ import annotations

import logging

from django.apps import apps
from django.db.models import F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from apps.core.redis import get_redis
from apps.points.models import LedgerEntry, PointsAccount

log = logging.getLogger(__name__)

# Competition rank (1, 2, 2, 4) on a sorted set in one round trip: players with more points + 1.
RANK_LUA = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return false end
return redis.call('ZCOUNT', KEYS[1], '(' .. score, '+inf') + 1
"""
_rank_script = None


def _global_rank(user_id: int) -> int | None:
    """The player's all-time rank from the leaderboards' Redis sorted set; None when unranked
    or when leaderboards are not there (Redis is rebuilt from PostgreSQL by rebuild_leaderboards)."""
    global _rank_script
    try:
        from apps.leaderboards.periods import redis_key
    except ImportError:
        return None
    client = get_redis()
    if _rank_script is None:
        _rank_script = client.register_script(RANK_LUA)
    rank = _rank_script(keys=[redis_key("global")], args=[str(user_id)], client=client)
    return int(rank) if rank is not None else None


def me_summary(*, user) -> dict:
    """Balance and streak in one query (plus one Redis call for the rank)."""
    fields = ["balance", "held"]
    has_streaks = _streak_model() is not None
    if has_streaks:
        fields += ["user__streak__current", "user__streak__best"]
    row = PointsAccount.objects.filter(user_id=user.pk).values(*fields).first() or {}
    try:
        rank = _global_rank(user.pk)
    except Exception:  # noqa: BLE001 - /me/ still answers without a rank when Redis hiccups
        log.exception("rank unavailable for user %s", user.pk)
        rank = None
    return {
        "id": user.pk,
        "username": user.username,
        "balance": row.get("balance", 0) + row.get("held", 0),  # as the player sees it (held included)
        "streak": row.get("user__streak__current") or 0,
        "best_streak": row.get("user__streak__best") or 0,
        "rank": rank,
    }


def _streak_model():
    """Streaks are kept by the leaderboards app (PlayerStreak, related name ``streak``)."""
    try:
        return apps.get_model("leaderboards", "PlayerStreak")
    except LookupError:
        return None


HOLD_KINDS = (LedgerEntry.Kind.HOLD, LedgerEntry.Kind.HOLD_RELEASE)


def ledger_of_user(*, user_id: int, restricted: bool = False) -> QuerySet[LedgerEntry]:
    """A player's ledger, newest first (served by the ledger_user_recent index).

    ``restricted``: the player is shadow-restricted, and their own statement must read as before —
    hold entries left out, and each entry's balance shown with the points held by then
    (``shown_balance_after``), as their balance is shown with what is held."""
    entries = LedgerEntry.objects.filter(user_id=user_id).order_by("-id")
    if not restricted:
        return entries
    held_by_then = (LedgerEntry.objects.filter(user_id=OuterRef("user_id"), id__lte=OuterRef("id"), kind__in=HOLD_KINDS)
                    .values("user_id").annotate(held=-Sum("amount")).values("held"))
    return (entries.exclude(kind__in=HOLD_KINDS)
            .annotate(shown_balance_after=F("balance_after") + Coalesce(Subquery(held_by_then), 0)))
