"""Profiles and leaderboards as the pages show them."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import BooleanField, Count, F, Q, Sum
from django.db.models.expressions import RawSQL
from django.shortcuts import get_object_or_404

from apps.bets.models import Bet
from apps.leaderboards import selectors as leaderboard_selectors
from apps.points.models import LedgerEntry, PointsAccount
from apps.races.outcomes import right_sql

User = get_user_model()
HISTORY_LIMIT = 25
BOARD_LIMIT = 100
BOARDS = {"global": "All time", "weekly": "This week", "monthly": "This month"}


def player_get(*, username: str):
    return get_object_or_404(User, username=username, is_active=True)


def player_balance(*, user) -> int:
    """The balance as the player sees it: points held for fair-play review included."""
    return (PointsAccount.objects.filter(user=user).annotate(shown=F("balance") + F("held"))
            .values_list("shown", flat=True).first() or 0)


def player_stats(*, user) -> dict:
    """Bets placed, settled, correct (fully right: a partial podium pays but is not, apps.races.outcomes),
    staked and paid out (one query)."""
    stats = Bet.objects.filter(user=user).aggregate(
        bets=Count("id"), correct=Count("id", filter=RawSQL(right_sql("bets_bet"), (), output_field=BooleanField())),
        settled=Count("id", filter=Q(status__in=[Bet.Status.WON, Bet.Status.LOST])),
        staked=Sum("stake"), paid=Sum("payout"), races=Count("race", distinct=True))
    stats["staked"] = stats["staked"] or 0
    stats["paid"] = stats["paid"] or 0
    stats["hit_rate"] = round(stats["correct"] / stats["settled"] * 100) if stats["settled"] else None
    return stats


def player_streak(*, user) -> dict:
    """Current and best streak of correct winner picks ({current: 0, best: 0} before any)."""
    return leaderboard_selectors.player_streak(user.pk)


def player_badges(*, user) -> list:
    """The badge showcase: earned badges (rarest first) then the locked ones, one query."""
    from apps.badges.selectors import user_badges

    return user_badges(user=user)


def player_bets(*, user, settled_only: bool = False, limit: int = HISTORY_LIMIT) -> list[Bet]:
    qs = Bet.objects.filter(user=user).select_related("race")
    if settled_only:
        qs = qs.exclude(status=Bet.Status.OPEN)
    return list(qs.order_by("-id")[:limit])


def player_ledger(*, user, limit: int = HISTORY_LIMIT) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(user=user).select_related("race").order_by("-id")[:limit])


def leaderboard(*, board: str, limit: int = BOARD_LIMIT) -> dict:
    """The current period of one board: {period, count, rows of {rank, username, points, streak}}."""
    page = leaderboard_selectors.board_page(board=board, limit=limit)
    return {"period": page.period, "count": page.count, "rows": page.rows}


def player_ranks(*, user) -> dict[str, int | None]:
    return {board: leaderboard_selectors.player_rank(user.pk, board) for board in BOARDS}
