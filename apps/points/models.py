"""Points: a stored balance per player and the append-only ledger that explains it.

Invariants (tested): for every account, balance == SUM(ledger.amount), and
held == -SUM(amount of its ``hold`` entries) - SUM(amount of its ``hold_release`` entries).
The balance and the held points only change through apps.points.ledger, the one module that
writes entries, in the same transaction as their entry.
"""
from django.conf import settings
from django.db import models


class PointsAccount(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, primary_key=True,
                                related_name="points")
    balance = models.BigIntegerField(default=0)
    # Bet cooldown: a bet is a conditional UPDATE of this row (balance and last bet time together).
    last_bet_at = models.DateTimeField(null=True, blank=True)
    # Winnings of a shadow-restricted player (apps.botdetect), set aside by ``hold`` entries: not
    # spendable and counted nowhere until staff release them (``hold_release``) or burn them
    # (``hold_release`` then ``burn``). The player's own views show balance + held.
    held = models.BigIntegerField(default=0, db_default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # The last line of defence against an overdraft, whatever the application does.
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="points_balance_never_negative"),
            models.CheckConstraint(condition=models.Q(held__gte=0), name="points_held_never_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.balance}"


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        SIGNUP_BONUS = "signup_bonus"
        DAILY_BONUS = "daily_bonus"
        STAKE = "stake"
        PAYOUT = "payout"
        REFUND = "refund"
        ADJUSTMENT = "adjustment"
        BADGE_REWARD = "badge_reward"
        # The trading floor (apps.trading): cash for shares, the fee, a short's collateral.
        TRADE_BUY = "trade_buy"
        TRADE_SELL = "trade_sell"
        TRADE_FEE = "trade_fee"
        COLLATERAL_LOCK = "collateral_lock"
        COLLATERAL_RELEASE = "collateral_release"
        # Prediction markets (apps.markets).
        MARKET_BUY = "market_buy"
        MARKET_SELL = "market_sell"
        MARKET_FEE = "market_fee"
        MARKET_PAYOUT = "market_payout"
        MARKET_REFUND = "market_refund"
        # Fair play (apps.botdetect): points held from a restricted player, released or burned.
        HOLD = "hold"
        HOLD_RELEASE = "hold_release"
        BURN = "burn"

    # No index of its own: ledger_user_recent (user, -id) serves every lookup by user.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ledger",
                             db_index=False)
    amount = models.BigIntegerField()
    kind = models.CharField(max_length=24, choices=Kind.choices)
    # One per credit or debit: a retried operation finds its first entry instead of posting twice.
    # Unique through a constraint (ledger_idempotency_key_unique), not unique=True, which would add
    # a second, never used pattern-matching index that every insert pays for.
    idempotency_key = models.CharField(max_length=160)
    balance_after = models.BigIntegerField()
    race = models.ForeignKey("races.Race", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    bet_id = models.BigIntegerField(null=True, blank=True)
    memo = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "ledger entries"
        ordering = ["-id"]
        indexes = [models.Index(fields=["user", "-id"], name="ledger_user_recent")]  # GET /me/ledger/
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="ledger_amount_nonzero"),
            models.UniqueConstraint(fields=["idempotency_key"], name="ledger_idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.amount:+d}"
