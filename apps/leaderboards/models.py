"""Leaderboards: PostgreSQL holds the truth per board and period; Redis sorted sets serve reads."""
from django.conf import settings
from django.db import models


class LeaderboardEntry(models.Model):
    """A player's points won on one board in one period.

    Boards: ``global`` (period ""), ``weekly`` (period "2026-W47", weeks start Monday 00:00
    New York time) and ``monthly`` (period "2026-11"). Past periods stay here for good.
    """

    class Board(models.TextChoices):
        GLOBAL = "global"
        WEEKLY = "weekly"
        MONTHLY = "monthly"

    board = models.CharField(max_length=8, choices=Board.choices)
    period = models.CharField(max_length=10, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="leaderboard_entries")
    points = models.BigIntegerField(default=0)  # payouts won
    staked = models.BigIntegerField(default=0)
    bets = models.PositiveIntegerField(default=0)
    wins = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "leaderboard entries"
        ordering = ["board", "period", "-points"]
        indexes = [
            # Rebuild and the PostgreSQL fallback read one board-period by points.
            models.Index(fields=["board", "period", "-points"], name="lb_board_period_points"),
        ]
        constraints = [
            # Settlement upserts on this key (INSERT ... ON CONFLICT DO UPDATE).
            models.UniqueConstraint(fields=["board", "period", "user"], name="lb_entry_once_per_period"),
        ]

    def __str__(self) -> str:
        return f"{self.board}:{self.period or 'all'} {self.user_id} {self.points}"


class PlayerStreak(models.Model):
    """Consecutive settled races with a correct winner pick (current and best)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="streak")
    current = models.PositiveIntegerField(default=0)
    best = models.PositiveIntegerField(default=0)
    last_race = models.ForeignKey("races.Race", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(best__gte=models.F("current")),
                                              name="streak_best_at_least_current")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.current} (best {self.best})"
