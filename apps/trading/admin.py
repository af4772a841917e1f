"""Staff views of the trading floor: orders, fills, positions and snapshots, read-only (every
change goes through the services, where the points move with the ledger)."""
from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin
from apps.trading.models import Fill, Order, PortfolioSnapshot, Position


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "symbol", "side", "type", "quantity", "limit_price", "stop_price", "status",
                    "source", "created_at")
    list_filter = ("status", "type", "side", "source", "time_in_force")
    search_fields = ("symbol", "user__username", "idempotency_key")
    list_select_related = ("user",)


@admin.register(Fill)
class FillAdmin(ReadOnlyAdmin):
    list_display = ("id", "order_id", "user", "symbol", "side", "quantity", "price", "cash", "fee", "realized_pnl",
                    "shortfall", "created_at")
    list_filter = ("side", "order_type")
    search_fields = ("symbol", "user__username")
    list_select_related = ("user",)


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = ("user", "symbol", "quantity", "avg_cost", "realized_pnl", "collateral", "updated_at")
    search_fields = ("symbol", "user__username")
    list_select_related = ("user",)


@admin.register(PortfolioSnapshot)
class SnapshotAdmin(ReadOnlyAdmin):
    list_display = ("user", "session", "cash", "market_value", "unrealized_pnl", "realized_pnl", "fees_paid")
    list_filter = ("session",)
    search_fields = ("user__username",)
