"""The one read-only admin base: models staff look at but never add, change or delete from the
admin (ledger entries, bets, transitions, snapshots…), because their rows are written by the
services and many are append-only. A subclass that runs an action may allow change again."""
from __future__ import annotations

from django.contrib import admin


class ReadOnlyPermissions:
    """No add, change or delete; mixed into a ModelAdmin or an inline."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyPermissions, admin.ModelAdmin):
    pass


class ReadOnlyInline(ReadOnlyPermissions, admin.TabularInline):
    extra = 0
    can_delete = False
