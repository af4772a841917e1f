"""Listed stocks, their metadata and their OHLCV candles."""
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import models

from apps.market.intervals import INTERVALS


class Stock(models.Model):
    symbol = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=200)
    sector = models.CharField(max_length=64, db_index=True)
    industry = models.CharField(max_length=120, blank=True)
    exchange = models.CharField(max_length=16, blank=True)
    market_cap = models.BigIntegerField(null=True, blank=True)
    week52_high = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    week52_low = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    avg_volume = models.BigIntegerField(null=True, blank=True)
    # Starting price for the exchange simulator, and the last close we know of.
    reference_price = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    is_active = models.BooleanField(default=True, db_index=True)
    # Added by `import_bars` for a symbol the provider did not list.
    is_imported = models.BooleanField(default=False)
    # Tickers this stock traded under before a rename, space separated: still searchable.
    former_symbols = models.CharField(max_length=200, blank=True, default="")
    ipo_date = models.DateField(null=True, blank=True)
    delisted_at = models.DateTimeField(null=True, blank=True)
    listed_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["symbol"]
        indexes = [
            # Serves selectors.stock_search: full-text over symbol, former symbols, name and sector.
            GinIndex(
                SearchVector("symbol", "former_symbols", "name", "sector", "industry", config="simple"),
                name="market_stock_search_gin",
            ),
        ]

    def __str__(self) -> str:
        return self.symbol


class SymbolChange(models.Model):
    """A ticker rename seen by the symbol sync: the stock row (and its history) stays the same."""

    stock = models.ForeignKey(Stock, on_delete=models.CASCADE, related_name="symbol_changes")
    old_symbol = models.CharField(max_length=16, db_index=True)
    new_symbol = models.CharField(max_length=16)
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-changed_at"]


class Candle(models.Model):
    """One OHLCV bucket of one stock at one interval, labelled by the bucket's start (UTC).

    ``open_ts``/``close_ts`` are the times of the first and last trade seen in the bucket: they
    let incremental upserts keep open and close by time even when trades arrive out of order.
    """

    INTERVAL_CHOICES = [(i, i) for i in INTERVALS]

    stock = models.ForeignKey(Stock, on_delete=models.CASCADE, related_name="candles")
    interval = models.CharField(max_length=3, choices=INTERVAL_CHOICES)
    start = models.DateTimeField()
    open = models.FloatField()
    high = models.FloatField()
    low = models.FloatField()
    close = models.FloatField()
    volume = models.BigIntegerField()
    open_ts = models.DateTimeField()
    close_ts = models.DateTimeField()

    class Meta:
        constraints = [
            # The upsert target of CandleBuilder.flush and import_bars; also serves the range
            # reads of selectors.candle_range (stock, interval, start between ...).
            models.UniqueConstraint(fields=["stock", "interval", "start"], name="market_candle_bucket_uniq"),
            models.CheckConstraint(condition=models.Q(low__lte=models.F("high")), name="market_candle_low_le_high"),
            models.CheckConstraint(condition=models.Q(volume__gte=0), name="market_candle_volume_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.stock_id} {self.interval} {self.start:%Y-%m-%d %H:%M}"
