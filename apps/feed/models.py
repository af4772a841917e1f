"""Market-data feed models: price snapshots for races and charts, and the windows where
data went missing (so that races overlapping one can be flagged for review)."""
from django.contrib.postgres.fields import ArrayField
from django.db import models


class PriceSnapshot(models.Model):
    """The price of one symbol at one instant of the snapshot grid (provider time).

    Written set-based by the market-data worker: every SNAPSHOT_ACTIVE_SECONDS for symbols in
    open or running races, every SNAPSHOT_IDLE_SECONDS otherwise, on multiples of the
    interval, with the last price traded at or before that instant. Backfilled gaps write the same
    grid from the provider's history.
    """

    symbol = models.CharField(max_length=16)
    ts = models.DateTimeField()
    price = models.DecimalField(max_digits=14, decimal_places=4)
    bid = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    ask = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    volume = models.BigIntegerField(default=0)  # the day's volume so far
    backfilled = models.BooleanField(default=False)

    class Meta:
        ordering = ["symbol", "ts"]
        constraints = [
            # One row per grid instant: a backfill overlapping live snapshots inserts nothing twice
            # (the worker writes with ON CONFLICT DO NOTHING). Also serves "prices of X between".
            models.UniqueConstraint(fields=["symbol", "ts"], name="price_snapshot_symbol_ts"),
        ]
        indexes = [models.Index(fields=["ts"], name="price_snapshot_ts")]  # pruning and "all symbols at t"

    def __str__(self) -> str:
        return f"{self.symbol} {self.price} @ {self.ts:%Y-%m-%d %H:%M:%S}"


class DataGap(models.Model):
    """A window of provider time in which the worker received nothing (a disconnect, or a
    silence longer than MARKET_DATA_STALE_SECONDS), and whether it was backfilled."""

    class Reason(models.TextChoices):
        DISCONNECT = "disconnect"
        SILENCE = "silence"

    start = models.DateTimeField()
    end = models.DateTimeField()
    # Empty: every symbol of the feed.
    symbols = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    reason = models.CharField(max_length=12, choices=Reason.choices, default=Reason.DISCONNECT)
    provider = models.CharField(max_length=16, blank=True)
    backfilled = models.BooleanField(default=False, db_index=True)
    backfilled_trades = models.PositiveIntegerField(default=0)
    detected_at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-start"]
        constraints = [
            models.CheckConstraint(condition=models.Q(start__lte=models.F("end")), name="data_gap_start_before_end"),
        ]
        # gaps_overlapping(start, end): start < :end AND end > :start
        indexes = [models.Index(fields=["start", "end"], name="data_gap_window")]

    def __str__(self) -> str:
        return f"gap {self.start:%Y-%m-%d %H:%M:%S} → {self.end:%H:%M:%S} ({self.reason})"
