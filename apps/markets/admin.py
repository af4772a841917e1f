"""Staff admin for the prediction markets: browse markets, their trade ledgers, positions, stops and
payouts (all read-only: every write goes through the services); cancel with refunds. Markets are
created through POST /api/v1/markets/ and resolved, with a reason, on the market page or
POST /api/v1/markets/{id}/resolve/."""
from __future__ import annotations

from django.contrib import admin, messages

from apps.core.admin import ReadOnlyAdmin
from apps.markets.models import Market, MarketPayout, MarketTrade, Position, Stop
from apps.markets.resolution import market_cancel


@admin.register(Market)
class MarketAdmin(ReadOnlyAdmin):
    list_display = ["id", "question", "mechanism", "state", "closes_at", "volume", "fees", "seq", "needs_review"]
    list_filter = ["state", "mechanism", "kind", "is_generated", "needs_review"]
    search_fields = ["question", "generation_key"]
    actions = ["cancel_with_refunds"]

    @admin.action(description="Cancel and refund every player's net cost")
    def cancel_with_refunds(self, request, queryset):
        done = 0
        for market in queryset:
            refunded = market_cancel(market_id=market.pk, reason=f"cancelled by {request.user.username}",
                                     by_user_id=request.user.pk)
            done += refunded is not None
        self.message_user(request, f"{done} markets cancelled.", messages.SUCCESS)

    def has_change_permission(self, request, obj=None):
        return request.user.is_staff  # the action; every field stays read-only

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Market._meta.fields]


@admin.register(MarketTrade)
class MarketTradeAdmin(ReadOnlyAdmin):
    list_display = ["market", "seq", "user", "kind", "outcome", "shares", "points", "fee", "collateral", "depth",
                    "created_at"]
    list_filter = ["kind"]
    search_fields = ["user__username", "idempotency_key"]
    raw_id_fields = ["market", "user", "stop", "trigger"]


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = ["market", "user", "outcome", "shares", "collateral", "cost", "updated_at"]
    search_fields = ["user__username"]
    raw_id_fields = ["market", "user"]


@admin.register(Stop)
class StopAdmin(ReadOnlyAdmin):
    list_display = ["market", "user", "outcome", "direction", "trigger", "shares", "state", "fired_at"]
    list_filter = ["state", "direction"]
    raw_id_fields = ["market", "user", "execution"]


@admin.register(MarketPayout)
class MarketPayoutAdmin(ReadOnlyAdmin):
    list_display = ["market", "user", "kind", "amount", "created_at"]
    list_filter = ["kind"]
    raw_id_fields = ["market", "user"]
