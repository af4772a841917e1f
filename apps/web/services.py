"""Writes made by the player web app: the watchlist toggle."""
from __future__ import annotations

from django.db import IntegrityError, transaction

from apps.market.models import Stock
from apps.web.models import Watchlist


def watchlist_toggle(*, user, stock: Stock) -> bool:
    """Add the stock to the player's watchlist, or remove it if it is there. Returns True when watched."""
    deleted, _ = Watchlist.objects.filter(user=user, stock=stock).delete()
    if deleted:
        return False
    try:
        with transaction.atomic():
            Watchlist.objects.create(user=user, stock=stock)
    except IntegrityError:
        pass  # a concurrent click added it first: it is watched either way
    return True
