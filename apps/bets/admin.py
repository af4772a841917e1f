"""Staff view of bets and published odds: read-only (a bet never changes after it is placed,
except through settlement)."""
from __future__ import annotations

from django.contrib import admin

from apps.bets.models import Bet, RaceOdds, RacePricing
from apps.core.admin import ReadOnlyAdmin


@admin.register(Bet)
class BetAdmin(ReadOnlyAdmin):
    list_display = ["id", "placed_at", "user", "race", "kind", "stake", "odds", "timing", "potential_payout",
                    "status", "payout"]
    list_filter = ["kind", "status"]
    search_fields = ["user__username", "race__title", "idempotency_key"]
    list_select_related = ["user", "race"]
    raw_id_fields = ["user", "race"]


@admin.register(RaceOdds)
class RaceOddsAdmin(ReadOnlyAdmin):
    list_display = ["race", "symbol", "odds", "probability", "momentum_pct", "source", "published_at"]
    list_filter = ["source"]
    search_fields = ["symbol", "race__title"]
    list_select_related = ["race"]


@admin.register(RacePricing)
class RacePricingAdmin(ReadOnlyAdmin):
    """A race's pricing card (docs/ECONOMY.md): the model's parameters and every chance it quotes from."""

    list_display = ["race", "source", "published_at"]
    list_filter = ["source"]
    search_fields = ["race__title"]
    list_select_related = ["race"]
    raw_id_fields = ["race"]
