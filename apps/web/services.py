"""Writes made by the player web app: the watchlist (toggle from the pages, add/remove from the API)."""
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


def watchlist_add(*, user, stock: Stock) -> tuple[Watchlist, bool]:
    """Put the stock on the player's watchlist; (the row, created). Adding it twice is harmless."""
    try:
        with transaction.atomic():
            return Watchlist.objects.get_or_create(user=user, stock=stock)
    except IntegrityError:  # a concurrent add won the insert
        return Watchlist.objects.get(user=user, stock=stock), False


def watchlist_remove(*, user, stock: Stock) -> bool:
    """Take the stock off the player's watchlist; True if it was on it."""
    deleted, _ = Watchlist.objects.filter(user=user, stock=stock).delete()
    return bool(deleted)
