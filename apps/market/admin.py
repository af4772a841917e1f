"""Staff views of the stock universe: stocks are editable, candles and renames are read-only."""
from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin, ReadOnlyInline
from apps.market.models import Candle, Stock, SymbolChange


class SymbolChangeInline(ReadOnlyInline):
    model = SymbolChange
    readonly_fields = ["old_symbol", "new_symbol", "changed_at"]


@admin.register(Stock)
class StockAdmin(admin.ModelAdmin):
    list_display = ["symbol", "name", "sector", "industry", "exchange", "market_cap", "reference_price",
                    "is_active", "is_imported", "updated_at"]
    list_filter = ["is_active", "is_imported", "sector", "exchange"]
    search_fields = ["symbol", "name", "sector", "industry", "former_symbols"]
    readonly_fields = ["former_symbols", "listed_at", "updated_at", "delisted_at"]
    list_per_page = 100
    inlines = [SymbolChangeInline]
    fieldsets = [
        (None, {"fields": ["symbol", "name", "sector", "industry", "exchange", "is_active", "is_imported"]}),
        ("Metadata", {"fields": ["market_cap", "week52_high", "week52_low", "avg_volume", "reference_price",
                                 "ipo_date"]}),
        ("History", {"fields": ["former_symbols", "listed_at", "updated_at", "delisted_at"]}),
    ]


@admin.register(Candle)
class CandleAdmin(ReadOnlyAdmin):
    """Read-only: candles are written by the feed worker and import_bars only."""

    list_display = ["stock", "interval", "start", "open", "high", "low", "close", "volume"]
    list_filter = ["interval"]
    search_fields = ["stock__symbol"]
    list_select_related = ["stock"]
    ordering = ["-id"]  # the primary key index: no sort of a large table
    show_full_result_count = False  # no COUNT(*) over every candle on each page
    list_per_page = 100
