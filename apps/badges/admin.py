"""Staff admin for badges: the catalog (text, reward and active flag editable; code, icon and
tier belong to apps.badges.catalog) and the read-only list of who earned what."""
from __future__ import annotations

from django.contrib import admin
from django.db.models import Count

from apps.badges.models import Badge, UserBadge
from apps.core.admin import ReadOnlyAdmin


@admin.register(Badge)
class BadgeAdmin(admin.ModelAdmin):
    list_display = ["icon", "name", "code", "tier", "reward", "active", "holder_count"]
    list_display_links = ["icon", "name"]
    list_editable = ["active"]
    list_filter = ["tier", "active"]
    search_fields = ["code", "name"]
    fields = ["code", "icon", "tier", "position", "name", "description", "reward", "active"]
    readonly_fields = ["code", "icon", "tier", "position"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(holder_count=Count("holders"))

    @admin.display(description="holders", ordering="holder_count")
    def holder_count(self, badge: Badge) -> int:
        return badge.holder_count

    # The catalog is defined in code (apps.badges.catalog) and synced into the table.
    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(UserBadge)
class UserBadgeAdmin(ReadOnlyAdmin):
    """Awards are made by race evaluation (their rewards are in the ledger): read-only here."""

    list_display = ["user", "badge", "awarded_at", "race"]
    list_filter = ["badge"]
    search_fields = ["user__username"]
    list_select_related = ["user", "badge", "race"]
    raw_id_fields = ["user", "race"]
    date_hierarchy = "awarded_at"
    ordering = ["-awarded_at", "-id"]
