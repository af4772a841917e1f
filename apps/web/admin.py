"""Staff view of the players' watchlists."""
from django.contrib import admin

from apps.web.models import Watchlist


@admin.register(Watchlist)
class WatchlistAdmin(admin.ModelAdmin):
    list_display = ("user", "stock", "created_at")
    list_select_related = ("user", "stock")
    search_fields = ("user__username", "stock__symbol")
    raw_id_fields = ("user", "stock")
