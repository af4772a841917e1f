"""Points reads: the /me/ summary and a player's ledger."""
from __future__ import annotations

import logging
from collections.abc import Callable

from django.db.models import F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from apps.points.models import LedgerEntry, PointsAccount

log = logging.getLogger(__name__)

# What /me/ shows beside the balance comes from the apps above points, registered in their
# AppConfig.ready (apps.leaderboards: the streak and the global rank), so points imports none of
# them. ``me_fields``: name -> (a lookup from PointsAccount read in the same query, its default);
# ``me_values``: name -> (a callable of the user id, the value shown when it fails).
me_fields: dict[str, tuple[str, object]] = {}
me_values: dict[str, tuple[Callable[[int], object], object]] = {}


def me_summary(*, user) -> dict:
    """Balance and the registered fields in one query, plus the registered values (the rank:
    one Redis call)."""
    lookups = [lookup for lookup, _ in me_fields.values()]
    row = PointsAccount.objects.filter(user_id=user.pk).values("balance", "held", *lookups).first() or {}
    summary = {
        "id": user.pk,
        "username": user.username,
        "balance": row.get("balance", 0) + row.get("held", 0),  # as the player sees it (held included)
    }
    for name, (lookup, default) in me_fields.items():
        value = row.get(lookup)
        summary[name] = default if value is None else value
    for name, (read, fallback) in me_values.items():
        try:
            summary[name] = read(user.pk)
        except Exception:  # noqa: BLE001 - /me/ still answers when Redis hiccups
            log.exception("%s unavailable for user %s", name, user.pk)
            summary[name] = fallback
    return summary


HOLD_KINDS = (LedgerEntry.Kind.HOLD, LedgerEntry.Kind.HOLD_RELEASE)


def ledger_of_user(*, user_id: int, restricted: bool = False) -> QuerySet[LedgerEntry]:
    """A player's ledger, newest first (served by the ledger_user_recent index).

    ``restricted``: the player is shadow-restricted, and their own statement must read as before —
    hold entries left out, and each entry's balance shown with the points held by then
    (``shown_balance_after``), as their balance is shown with what is held."""
    entries = LedgerEntry.objects.filter(user_id=user_id).order_by("-id")
    if not restricted:
        return entries
    held_by_then = (LedgerEntry.objects.filter(user_id=OuterRef("user_id"), id__lte=OuterRef("id"), kind__in=HOLD_KINDS)
                    .values("user_id").annotate(held=-Sum("amount")).values("held"))
    return (entries.exclude(kind__in=HOLD_KINDS)
            .annotate(shown_balance_after=F("balance_after") + Coalesce(Subquery(held_by_then), 0)))
