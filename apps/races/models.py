"""Races: a few stocks, a time window, a state machine."""
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

    class Meta:
        ordering = ["starts_at"]
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
    final_position = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["race", "lane"]
        constraints = [
            models.UniqueConstraint(fields=["race", "stock"], name="race_entry_unique_stock"),
            models.UniqueConstraint(fields=["race", "lane"], name="race_entry_unique_lane"),
        ]

    def __str__(self) -> str:
        return f"{self.race_id}:{self.stock_id}"
