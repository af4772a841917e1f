"""Player web app models: the stocks a player keeps an eye on."""
from django.conf import settings
from django.db import models


class Watchlist(models.Model):
    """One stock on one player's watchlist."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watchlist")
    stock = models.ForeignKey("market.Stock", on_delete=models.CASCADE, related_name="watchers")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["stock__symbol"]
        constraints = [
            # The toggle inserts or deletes this pair; a double click must not add it twice.
            models.UniqueConstraint(fields=["user", "stock"], name="watchlist_unique_user_stock"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} watches {self.stock_id}"
