"""The trading floor: orders, their fills, positions and the session-close portfolio snapshots.

Points are the cash (apps.points.ledger moves them, in the same transaction as the fill);
shares are fractional to 10⁻⁶; prices have four decimals, like the quotes. PostgreSQL is the
truth for every order: the Redis trigger index (apps/trading/index.py) is rebuilt from it.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q

QTY = {"max_digits": 20, "decimal_places": 6}
PRICE = {"max_digits": 14, "decimal_places": 4}
COST = {"max_digits": 24, "decimal_places": 10}  # average cost: exact enough for any sequence of fills
PNL = {"max_digits": 20, "decimal_places": 6}


class Order(models.Model):
    class Side(models.TextChoices):
        BUY = "buy"
        SELL = "sell"
        SELL_SHORT = "sell_short"
        BUY_TO_COVER = "buy_to_cover"

    class Type(models.TextChoices):
        MARKET = "market"
        LIMIT = "limit"
        STOP = "stop"
        STOP_LIMIT = "stop_limit"

    class TimeInForce(models.TextChoices):
        DAY = "day"
        GTC = "gtc"

    class Status(models.TextChoices):
        OPEN = "open"  # resting: a limit waiting for the quote to cross, a stop for its trigger
        TRIGGERED = "triggered"  # a stop that triggered: fills at the next quote (a stop-limit rests as a limit)
        FILLED = "filled"
        CANCELLED = "cancelled"
        REJECTED = "rejected"  # could not fill when it triggered (not enough points, no position left)
        EXPIRED = "expired"  # a day order still resting at the session's close

    class Source(models.TextChoices):
        PLAYER = "player"
        BUY_IN = "buy_in"  # a short below maintenance, bought in automatically

    RESTING = (Status.OPEN, Status.TRIGGERED)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders",
                             db_index=False)
    symbol = models.CharField(max_length=16)
    side = models.CharField(max_length=12, choices=Side.choices)
    type = models.CharField(max_length=10, choices=Type.choices)
    time_in_force = models.CharField(max_length=3, choices=TimeInForce.choices, default=TimeInForce.DAY)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.PLAYER)
    quantity = models.DecimalField(**QTY)
    limit_price = models.DecimalField(**PRICE, null=True, blank=True)
    stop_price = models.DecimalField(**PRICE, null=True, blank=True)
    # The client's Idempotency-Key: a retried POST returns the first order.
    idempotency_key = models.CharField(max_length=120, null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)  # why it was rejected, cancelled or bought in
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    triggered_at = models.DateTimeField(null=True, blank=True)
    trigger_price = models.DecimalField(**PRICE, null=True, blank=True)  # the last trade that triggered a stop
    closed_at = models.DateTimeField(null=True, blank=True)  # filled, cancelled, rejected or expired
    expires_at = models.DateTimeField(null=True, blank=True)  # day orders: the session's close

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "idempotency_key"], condition=Q(idempotency_key__isnull=False),
                                    name="trading_order_idempotency"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="trading_order_quantity_positive"),
            models.CheckConstraint(condition=Q(limit_price__isnull=True) | Q(limit_price__gt=0),
                                   name="trading_order_limit_positive"),
            models.CheckConstraint(condition=Q(stop_price__isnull=True) | Q(stop_price__gt=0),
                                   name="trading_order_stop_positive"),
            # Each type carries exactly the prices it needs.
            models.CheckConstraint(
                condition=(Q(type="market", limit_price__isnull=True, stop_price__isnull=True)
                           | Q(type="limit", limit_price__isnull=False, stop_price__isnull=True)
                           | Q(type="stop", limit_price__isnull=True, stop_price__isnull=False)
                           | Q(type="stop_limit", limit_price__isnull=False, stop_price__isnull=False)),
                name="trading_order_prices_match_type"),
        ]
        indexes = [
            models.Index(fields=["user", "-id"], name="trading_order_user_recent"),  # the orders page / API
            # Rebuilding the trigger index and the day-order expiry read resting orders only.
            models.Index(fields=["symbol"], condition=Q(status__in=["open", "triggered"]), name="trading_order_resting"),
            models.Index(fields=["expires_at"], condition=Q(status__in=["open", "triggered"]),
                         name="trading_order_expiring"),
            # The executor's trigger-index re-sync every 30 s reads the orders changed since its last
            # run (apps.trading.index.index_sync): without it, a scan of every order ever placed.
            models.Index(fields=["updated_at"], name="trading_order_updated"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.side} {self.quantity} {self.symbol} {self.type} ({self.status})"

    @property
    def is_buy(self) -> bool:
        return self.side in (self.Side.BUY, self.Side.BUY_TO_COVER)


class Fill(models.Model):
    """One execution: every order fills whole, at most once (the one-to-one key says so).

    Cash columns are the points the ledger moved (integers; cost rounded up, proceeds down);
    ``realized_pnl`` is (fill price − average cost) × quantity closed, before fees.
    """

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="fill")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False)
    symbol = models.CharField(max_length=16)
    side = models.CharField(max_length=12, choices=Order.Side.choices)
    order_type = models.CharField(max_length=10, choices=Order.Type.choices)
    quantity = models.DecimalField(**QTY)
    price = models.DecimalField(**PRICE)
    cash = models.BigIntegerField()  # + proceeds credited, − cost debited
    fee = models.BigIntegerField(default=0)
    collateral_locked = models.BigIntegerField(default=0)
    collateral_released = models.BigIntegerField(default=0)
    shortfall = models.BigIntegerField(default=0)  # a buy-in the collateral and cash could not cover
    realized_pnl = models.DecimalField(**PNL, default=0)
    opened_quantity = models.DecimalField(**QTY, default=0)  # the part that opened or added to a position
    position_after = models.DecimalField(**QTY)
    avg_cost_after = models.DecimalField(**COST)
    quote_ts = models.DateTimeField(null=True, blank=True)  # provider time of the quote it filled at
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0) & Q(price__gt=0), name="trading_fill_positive"),
            models.CheckConstraint(condition=Q(fee__gte=0, collateral_locked__gte=0, collateral_released__gte=0,
                                               shortfall__gte=0), name="trading_fill_amounts_not_negative"),
        ]
        indexes = [
            models.Index(fields=["user", "-id"], name="trading_fill_user_recent"),  # trade history
            models.Index(fields=["user", "symbol", "-id"], name="trading_fill_user_symbol"),  # ?symbol=
            models.Index(fields=["created_at"], name="trading_fill_created"),  # leaderboard periods
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} {self.symbol} @ {self.price}"


class Position(models.Model):
    """A player's holding of one symbol: positive long, negative short, zero once closed (the
    row stays: it carries the realized P&L and is the lock every fill of the symbol takes)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="positions",
                             db_index=False)
    symbol = models.CharField(max_length=16)
    quantity = models.DecimalField(**QTY, default=0)
    avg_cost = models.DecimalField(**COST, default=0)
    realized_pnl = models.DecimalField(**PNL, default=0)
    fees_paid = models.BigIntegerField(default=0)
    # Value of every fill that opened or added to it (quantity × price, all time): the capital the
    # total return is measured against.
    invested = models.DecimalField(**PNL, default=0)
    # Points locked for a short (its proceeds plus the margin): released as it is covered.
    collateral = models.BigIntegerField(default=0)
    opened_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["symbol"]
        constraints = [
            # Also the upsert target of every fill (INSERT ... ON CONFLICT locks the row).
            models.UniqueConstraint(fields=["user", "symbol"], name="trading_position_user_symbol"),
            models.CheckConstraint(condition=Q(collateral__gte=0), name="trading_position_collateral_not_negative"),
            models.CheckConstraint(condition=Q(quantity__lt=0) | Q(collateral=0), name="trading_position_collateral_short_only"),
        ]
        # The buy-in index is rebuilt from the open shorts.
        indexes = [models.Index(fields=["symbol"], condition=Q(quantity__lt=0), name="trading_position_shorts")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.symbol} {self.quantity}"


class PortfolioSnapshot(models.Model):
    """A player's portfolio at the close of one trading session (Celery beat), for the history
    chart and the returns leaderboard's period starts."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    session = models.DateField()  # the New York session date
    taken_at = models.DateTimeField()
    cash = models.BigIntegerField()  # the points balance
    collateral = models.BigIntegerField(default=0)
    market_value = models.DecimalField(**PNL)  # longs minus shorts at the close
    open_cost = models.DecimalField(**PNL)  # cost basis of the open positions (absolute)
    unrealized_pnl = models.DecimalField(**PNL)
    realized_pnl = models.DecimalField(**PNL)  # all time, up to this close
    fees_paid = models.BigIntegerField(default=0)  # all time, up to this close

    class Meta:
        ordering = ["user", "session"]
        constraints = [models.UniqueConstraint(fields=["user", "session"], name="trading_snapshot_user_session")]
        indexes = [models.Index(fields=["session"], name="trading_snapshot_session")]  # leaderboard period starts

    @property
    def equity(self):
        return self.cash + self.collateral + self.market_value

    @property
    def pnl(self):
        return self.realized_pnl + self.unrealized_pnl - self.fees_paid
