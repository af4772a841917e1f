"""Prediction markets: the market and its market maker's state, the immutable trade ledger that
rebuilds it, positions, stop-losses and resolution payouts.

A market's row holds its mechanism's live state (CPMM pools and weight, LMSR quantities, or the
sigmoid curve's supply) and is the lock every trade takes first. ``MarketTrade`` is append-only
(a trigger rejects UPDATE and DELETE): replaying a market's trades from ``initial_state``
gives the row's state back (``manage.py markets_verify``). Positions are the running sums of
the trades; points move only through apps.points.ledger.
"""
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q

SHARES = {"max_digits": 38, "decimal_places": 18}  # amm.numeric keeps 18 places
PROB = {"max_digits": 20, "decimal_places": 18}


class Market(models.Model):
    class Kind(models.TextChoices):
        BINARY = "binary"
        MULTI = "multi"

    class Mechanism(models.TextChoices):
        CPMM = "cpmm", "CPMM (Manifold cpmm-1)"
        LMSR = "lmsr", "LMSR (Hanson)"
        SIGMOID = "sigmoid", "Sigmoid bonding curve"

    class State(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"
        RESOLVED = "resolved"
        CANCELLED = "cancelled"

    question = models.CharField(max_length=200)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    mechanism = models.CharField(max_length=8, choices=Mechanism.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN, db_index=True)
    outcomes = ArrayField(models.CharField(max_length=64))

    # The market maker's state: the columns of its mechanism are set, the others are NULL.
    pool_yes = models.DecimalField(null=True, blank=True, **SHARES)
    pool_no = models.DecimalField(null=True, blank=True, **SHARES)
    p = models.DecimalField(null=True, blank=True, **PROB)
    pool_floor = models.DecimalField(null=True, blank=True, **SHARES)
    q = ArrayField(models.DecimalField(**SHARES), null=True, blank=True)
    b = models.DecimalField(null=True, blank=True, **SHARES)
    supply = models.DecimalField(null=True, blank=True, **SHARES)
    curve = models.JSONField(null=True, blank=True)  # sigmoid: p_min, p_max, k, x0, max_shares (strings)
    # The state at creation, from which markets_verify replays the trades.
    initial_state = models.JSONField()
    # The house's worst loss, funded when the market opens (a market-side figure: see docs/MARKETS.md).
    subsidy = models.DecimalField(**SHARES)
    fee_pct = models.DecimalField(max_digits=6, decimal_places=4)

    seq = models.BigIntegerField(default=0)  # trades appended so far (the last MarketTrade.seq)
    volume = models.BigIntegerField(default=0)  # whole points traded, fees excluded
    fees = models.BigIntegerField(default=0)
    active_stops = models.IntegerField(default=0)  # a trade skips the stop query when 0

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    closes_at = models.DateTimeField(db_index=True)
    # How the market resolves itself: {"type": "manual" | "race_winner" | "race_close" | "race_pct" |
    # "price" | "pct_change", ...} (apps.markets.resolvers).
    resolves_by = models.JSONField(default=dict)
    race = models.ForeignKey("races.Race", null=True, blank=True, on_delete=models.PROTECT, related_name="markets")
    is_generated = models.BooleanField(default=False)
    # The generator's own key ("race-winner:123"): a market it made once is never made twice.
    generation_key = models.CharField(max_length=80, null=True, blank=True, unique=True)

    resolution = models.SmallIntegerField(null=True, blank=True)  # the winning outcome's index
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    resolution_reason = models.CharField(max_length=300, blank=True)
    needs_review = models.BooleanField(default=False)
    review_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["closes_at", "id"]
        indexes = [
            # The sweep: open markets past their close, closed markets awaiting resolution.
            models.Index(fields=["state", "closes_at"], name="market_state_close"),
        ]
        constraints = [
            # Pools never fall below their floor; the weight stays strictly between 0 and 1.
            models.CheckConstraint(
                condition=~Q(mechanism="cpmm") | Q(pool_yes__gte=F("pool_floor"), pool_no__gte=F("pool_floor"),
                                                   p__gt=0, p__lt=1, pool_floor__gt=0),
                name="market_cpmm_pools_above_floor"),
            models.CheckConstraint(condition=~Q(mechanism="lmsr") | Q(b__gt=0, q__isnull=False),
                                   name="market_lmsr_has_b_and_q"),
            models.CheckConstraint(condition=~Q(mechanism="sigmoid") | Q(supply__isnull=False, curve__isnull=False),
                                   name="market_sigmoid_has_supply_and_curve"),
            models.CheckConstraint(condition=~Q(state="resolved") | Q(resolution__isnull=False),
                                   name="market_resolved_has_outcome"),
            models.CheckConstraint(condition=Q(seq__gte=0, volume__gte=0, fees__gte=0, active_stops__gte=0),
                                   name="market_counters_non_negative"),
        ]

    def __str__(self) -> str:
        return self.question


class MarketTrade(models.Model):
    """One entry of a market's own trade ledger (append-only): a trade, a stop's execution or a
    liquidity add, with everything needed to replay it and what it did."""

    class Kind(models.TextChoices):
        BUY = "buy"
        SELL = "sell"
        LIQUIDITY = "liquidity"

    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="trades", db_index=False)
    seq = models.BigIntegerField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="market_trades",
                             db_index=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    outcome = models.SmallIntegerField(null=True, blank=True)
    # The request: ``amount`` whole points to spend (a buy by amount), else ``shares``.
    amount = models.BigIntegerField(null=True, blank=True)
    shares = models.DecimalField(**SHARES)  # shares moved (> 0); for a liquidity add, the amount added
    cost = models.DecimalField(**SHARES)  # exact points into (buy) or out of (sell) the market maker
    points = models.BigIntegerField()  # the whole points of the buy or sell entry (>= 0)
    fee = models.BigIntegerField()
    collateral = models.BigIntegerField(default=0)  # locked (> 0) or released (< 0) for a short
    cash = models.BigIntegerField()  # net points to the player (< 0: paid), every entry of the trade
    position_after = models.DecimalField(**SHARES)
    prob_before = ArrayField(models.DecimalField(**PROB))
    prob_after = ArrayField(models.DecimalField(**PROB))
    state_after = models.JSONField()
    stop = models.ForeignKey("Stop", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    trigger = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                db_index=False)
    depth = models.SmallIntegerField(default=0)  # 0: a player's trade; n: a stop n levels down its cascade
    idempotency_key = models.CharField(max_length=120, null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["market", "seq"]
        indexes = [
            models.Index(fields=["user", "market"], name="market_trade_user"),  # net cost per player
        ]
        constraints = [
            # The market's own sequence: replayed in this order, no gap, no duplicate.
            models.UniqueConstraint(fields=["market", "seq"], name="market_trade_seq_unique"),
            # A retried POST with the same Idempotency-Key finds its first trade.
            models.UniqueConstraint(fields=["user", "idempotency_key"], condition=Q(idempotency_key__isnull=False),
                                    name="market_trade_idempotency_key"),
            models.CheckConstraint(condition=Q(shares__gt=0, points__gte=0, fee__gte=0), name="market_trade_amounts"),
        ]

    def __str__(self) -> str:
        return f"market {self.market_id} #{self.seq}: {self.kind} {self.shares} of {self.outcome}"


class Position(models.Model):
    """A player's shares of one outcome (negative: a short on a sigmoid market) and the
    collateral held for it; the running sum of the player's trades in it."""

    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="positions", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="market_positions")
    outcome = models.SmallIntegerField()
    shares = models.DecimalField(default=0, **SHARES)
    collateral = models.BigIntegerField(default=0)
    cost = models.BigIntegerField(default=0)  # net points paid into this position (buys and fees less sales)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["market", "outcome", "user"]
        constraints = [
            models.UniqueConstraint(fields=["market", "user", "outcome"], name="market_position_unique"),
            models.CheckConstraint(condition=Q(collateral__gte=0), name="market_position_collateral_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} holds {self.shares} of {self.outcome} in {self.market_id}"


class Stop(models.Model):
    """A stop-loss on a position: when a trade moves the outcome's price to ``trigger`` or past
    it, the position is closed inside that same trade's transaction."""

    class Direction(models.TextChoices):
        BELOW = "below"  # a long: sell when the price falls to the trigger
        ABOVE = "above"  # a short: buy back when the price rises to the trigger

    class State(models.TextChoices):
        ACTIVE = "active"
        EXECUTED = "executed"
        FAILED = "failed"
        CANCELLED = "cancelled"

    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="stops", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="market_stops")
    outcome = models.SmallIntegerField()
    direction = models.CharField(max_length=5, choices=Direction.choices)
    trigger = models.DecimalField(**PROB)
    shares = models.DecimalField(null=True, blank=True, **SHARES)  # None: the whole position
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    fired_at = models.DateTimeField(null=True, blank=True)
    execution = models.ForeignKey(MarketTrade, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["market", "id"]
        indexes = [
            # The crossing query run inside every trade of a market with active stops.
            models.Index(fields=["market", "outcome", "trigger"], condition=Q(state="active"),
                         name="market_stop_active"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(trigger__gt=0, trigger__lt=1), name="market_stop_trigger_in_range"),
            models.CheckConstraint(condition=Q(shares__isnull=True) | Q(shares__gt=0), name="market_stop_shares"),
        ]

    def __str__(self) -> str:
        return f"stop {self.pk}: {self.direction} {self.trigger} on {self.outcome} in {self.market_id}"


class MarketPayout(models.Model):
    """Points paid when a market resolves or is cancelled (append-only), one row per player and
    kind; its ledger entry carries the same key, so a second run pays nothing more."""

    class Kind(models.TextChoices):
        PAYOUT = "payout"  # winning shares, 1 point each
        COLLATERAL = "collateral"  # a short's collateral returned
        REFUND = "refund"  # a cancelled market: the player's net cost

    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="payouts", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="market_payouts")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["market", "user"]
        constraints = [
            models.UniqueConstraint(fields=["market", "user", "kind"], name="market_payout_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="market_payout_positive"),
        ]

    def __str__(self) -> str:
        return f"market {self.market_id}: {self.kind} {self.amount} to {self.user_id}"
