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

    # No index of its own: bet_user_recent (user, -id) serves every lookup by user.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bets",
                             db_index=False)
    race = models.ForeignKey("races.Race", on_delete=models.PROTECT, related_name="bets")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    stake = models.BigIntegerField()
    symbol = models.CharField(max_length=16, blank=True)  # winner and bracket
    low_pct = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)  # bracket
    high_pct = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)  # bracket
    podium = ArrayField(models.CharField(max_length=16), size=3, null=True, blank=True)  # podium, in order
    odds = models.DecimalField(max_digits=10, decimal_places=4)  # fixed when placed
    # The most the bet can pay: stake × odds × its timing × the largest participants and streak
    # factors (apps.bets.pricing.Quote.potential_payout); no payout is ever above it.
    potential_payout = models.BigIntegerField()
    placed_at = models.DateTimeField()  # Redis server time
    # The early-bet factor fixed when the bet was placed (apps.races.scoring.timing_factor); settlement
    # multiplies the payout by it. Fixed width, set once.
    timing = models.FloatField(default=1.0, db_default=1.0)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    payout = models.BigIntegerField(default=0)
    # The player's correct-winner streak when the race was settled: with the bet and the race's
    # locked results it is all apps.races.scoring needs to show how the payout was computed
    # (apps.races.selectors.bet_breakdown). Fixed width, so settlement updates bets in place.
    streak_before = models.SmallIntegerField(default=0, db_default=0)
    idempotency_key = models.CharField(max_length=120, null=True, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
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


class RaceStake(models.Model):
    """One player's running stake total on one race.

    The per-race cap is a conditional upsert of this row (see services.bet_place): the row lock
    it takes serialises a player's concurrent bets on one race, so the cap holds under load.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    race = models.ForeignKey("races.Race", on_delete=models.PROTECT, related_name="+")
    total = models.BigIntegerField()

    class Meta:
        constraints = [
            # The ON CONFLICT target of the stake upsert.
            models.UniqueConstraint(fields=["user", "race"], name="race_stake_unique_user_race"),
            models.CheckConstraint(condition=Q(total__gt=0), name="race_stake_total_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} staked {self.total} on race {self.race_id}"


class RacePricing(models.Model):
    """A race's pricing model, published once when its betting window opens and never changed.

    ``card`` holds everything a quote needs (apps.bets.pricing: volatilities, loadings, winner
    chances, podium expectations, the margin). Redis caches it per race (``bets:odds:{id}``) for
    the bet path; this row is the truth that survives a Redis restart, so prices never move.
    """

    race = models.OneToOneField("races.Race", on_delete=models.CASCADE, primary_key=True, related_name="+")
    card = models.JSONField()
    source = models.CharField(max_length=16)  # candles (intraday), daily, or typical (no history)
    published_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"pricing of race {self.race_id}"


class RaceOdds(models.Model):
    """Winner odds of one stock in one race, from its RacePricing card (for staff and reports)."""

    race = models.ForeignKey("races.Race", on_delete=models.CASCADE, related_name="+")
    symbol = models.CharField(max_length=16)
    odds = models.DecimalField(max_digits=10, decimal_places=4)
    probability = models.FloatField(null=True, blank=True)  # the model's chance of finishing first
    momentum_pct = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    source = models.CharField(max_length=16)  # candles, daily or typical (older rows: quotes, even)
    published_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "race odds"
        constraints = [
            # Publishing is INSERT … ON CONFLICT DO NOTHING: the first publisher's odds stand.
            models.UniqueConstraint(fields=["race", "symbol"], name="race_odds_unique_symbol"),
            models.CheckConstraint(condition=Q(odds__gt=1), name="race_odds_above_one"),
        ]

    def __str__(self) -> str:
        return f"race {self.race_id} {self.symbol} x{self.odds}"
