"""Bets on races: winner, bracket (% change range) and podium (top-3 order)."""
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q


class Bet(models.Model):
    class Kind(models.TextChoices):
        WINNER = "winner"
        BRACKET = "bracket"
        PODIUM = "podium"

    class Status(models.TextChoices):
        OPEN = "open"  # placed, race not settled
        WON = "won"
        LOST = "lost"
        REFUNDED = "refunded"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bets")
    race = models.ForeignKey("races.Race", on_delete=models.PROTECT, related_name="bets")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    stake = models.BigIntegerField()
    symbol = models.CharField(max_length=16, blank=True)  # winner and bracket
    low_pct = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)  # bracket
    high_pct = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)  # bracket
    podium = ArrayField(models.CharField(max_length=16), size=3, null=True, blank=True)  # podium, in order
    odds = models.DecimalField(max_digits=10, decimal_places=4)  # fixed when placed
    potential_payout = models.BigIntegerField()
    placed_at = models.DateTimeField()  # Redis server time
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    payout = models.BigIntegerField(default=0)
    score = models.JSONField(default=dict, blank=True)  # how the payout was computed
    idempotency_key = models.CharField(max_length=120, null=True, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["race", "status"], name="bet_race_status"),  # settlement
            models.Index(fields=["user", "-id"], name="bet_user_recent"),  # GET /me/bets/
        ]
        constraints = [
            models.CheckConstraint(condition=Q(stake__gt=0), name="bet_stake_positive"),
            # A retried POST with the same Idempotency-Key finds this bet instead of betting twice.
            models.UniqueConstraint(fields=["user", "idempotency_key"], condition=Q(idempotency_key__isnull=False),
                                    name="bet_unique_idempotency_key"),
            models.CheckConstraint(
                condition=(Q(kind="winner", podium__isnull=True) & ~Q(symbol=""))
                | (Q(kind="bracket", low_pct__isnull=False, high_pct__isnull=False, low_pct__lt=models.F("high_pct"))
                   & ~Q(symbol=""))
                | Q(kind="podium", podium__isnull=False),
                name="bet_fields_match_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"bet {self.pk} {self.kind} {self.stake} on race {self.race_id}"
