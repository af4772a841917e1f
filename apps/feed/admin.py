"""Staff views of the feed: snapshots (read-only: the worker writes them) and data gaps."""
from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin
from apps.feed.models import DataGap, PriceSnapshot


@admin.register(PriceSnapshot)
class PriceSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("symbol", "ts", "price", "bid", "ask", "volume", "backfilled")
    list_filter = ("backfilled",)
    search_fields = ("symbol",)
    date_hierarchy = "ts"
    ordering = ("-ts",)
    show_full_result_count = False  # the table is large: skip the COUNT(*) of the unfiltered table

@admin.register(DataGap)
class DataGapAdmin(admin.ModelAdmin):
    list_display = ("start", "end", "duration", "reason", "provider", "backfilled", "backfilled_trades", "symbol_list")
    list_filter = ("backfilled", "reason", "provider")
    date_hierarchy = "start"
    readonly_fields = ("start", "end", "symbols", "reason", "provider", "backfilled_trades", "detected_at", "note")
    fields = ("start", "end", "symbols", "reason", "provider", "backfilled", "backfilled_trades", "detected_at", "note")

    def has_add_permission(self, request):
        return False

    @admin.display(description="seconds")
    def duration(self, obj: DataGap) -> str:
        return f"{(obj.end - obj.start).total_seconds():.1f}"

    @admin.display(description="symbols")
    def symbol_list(self, obj: DataGap) -> str:
        return ", ".join(obj.symbols) if obj.symbols else "all"
