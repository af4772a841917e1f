"""Listed stocks and their metadata."""
from django.db import models


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
    listed_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["symbol"]

    def __str__(self) -> str:
        return self.symbol
