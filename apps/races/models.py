"""Races: a few stocks, a time window, a state machine and its recorded transitions."""
from django.conf import settings
from django.db import models


class Race(models.Model):
    class State(models.TextChoices):
        SCHEDULED = "scheduled"
        OPEN = "open"
        RUNNING = "running"
        CALCULATING = "calculating"
        COMPLETED = "completed"
        CANCELLED = "cancelled"

    class Duration(models.TextChoices):
        SPRINT_5M = "5m", "5 minutes"
        QUARTER_15M = "15m", "15 minutes"
        HOUR_1H = "1h", "1 hour"
        DAY = "1d", "Full trading day"

    title = models.CharField(max_length=120)
    theme = models.CharField(max_length=64, blank=True, db_index=True)
    duration = models.CharField(max_length=4, choices=Duration.choices, db_index=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.SCHEDULED, db_index=True)
    betting_opens_at = models.DateTimeField()
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField()
    stocks = models.ManyToManyField("market.Stock", through="RaceEntry", related_name="races")
    created_at = models.DateTimeField(auto_now_add=True)
    # Set by the transitions (Redis time), so the API can show when things happened.
    settled_at = models.DateTimeField(null=True, blank=True)
    # Created by the lobby generator (not by staff or the demo seed).
    is_generated = models.BooleanField(default=False)
    # Flagged by the cleanup task: the race overlapped a data gap or was closed late.
    needs_review = models.BooleanField(default=False, db_index=True)
    review_reason = models.CharField(max_length=300, blank=True)
    # How many distinct players bet: fixed at settlement, it feeds the participants factor.
    participants = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["starts_at"]
        indexes = [
            # The beat sweep: races whose next transition is due, by state and time.
            models.Index(fields=["state", "starts_at"], name="race_state_start"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(betting_opens_at__lte=models.F("starts_at")),
                                   name="race_betting_opens_before_start"),
            models.CheckConstraint(condition=models.Q(starts_at__lt=models.F("ends_at")),
                                   name="race_starts_before_end"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_duration_display()})"


class RaceEntry(models.Model):
    """One stock (horse) in one race, with the prices locked at start and end."""

    race = models.ForeignKey(Race, on_delete=models.CASCADE, related_name="entries")
    stock = models.ForeignKey("market.Stock", on_delete=models.PROTECT, related_name="race_entries")
    lane = models.PositiveSmallIntegerField()
    open_price = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    close_price = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    # Set at settlement: % change from open to close, and the finishing order (1 = winner).
    pct_change = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    final_position = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["race", "lane"]
        constraints = [
            models.UniqueConstraint(fields=["race", "stock"], name="race_entry_unique_stock"),
            models.UniqueConstraint(fields=["race", "lane"], name="race_entry_unique_lane"),
        ]

    def __str__(self) -> str:
        return f"Lane {self.lane}"  # also the title of its row in the race admin's inline


class RaceTransition(models.Model):
    """An append-only record of every state change: when (Redis time) and why."""

    race = models.ForeignKey(Race, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=12, choices=Race.State.choices)
    to_state = models.CharField(max_length=12, choices=Race.State.choices)
    at = models.DateTimeField()
    cause = models.CharField(max_length=200)

    class Meta:
        ordering = ["race", "at", "id"]
        constraints = [
            # A race enters each state at most once: a transition that ran twice cannot be recorded twice.
            models.UniqueConstraint(fields=["race", "to_state"], name="race_transition_once_per_state"),
        ]

    def __str__(self) -> str:
        return f"{self.from_state} → {self.to_state}"


class RaceStanding(models.Model):
    """The per-race leaderboard, written by settlement: each player's points won in the race."""

    # No index of its own: race_standing_once_per_player (race, user) serves lookups by race.
    race = models.ForeignKey(Race, on_delete=models.CASCADE, related_name="standings", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="race_standings")
    points_won = models.BigIntegerField()
    staked = models.BigIntegerField()
    bets = models.PositiveIntegerField()
    wins = models.PositiveIntegerField()
    rank = models.PositiveIntegerField()

    class Meta:
        ordering = ["race", "rank"]
        constraints = [models.UniqueConstraint(fields=["race", "user"], name="race_standing_once_per_player")]

    def __str__(self) -> str:
        return f"#{self.rank}"
