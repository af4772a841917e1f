"""Staff admin for leaderboards: the stored totals, streaks, and a rebuild of the Redis boards."""
from __future__ import annotations

from django.contrib import admin, messages
from django.shortcuts import redirect
from django.urls import path

from apps.core.admin import ReadOnlyAdmin
from apps.leaderboards.models import LeaderboardEntry, PlayerStreak
from apps.leaderboards.services import leaderboards_rebuild


@admin.register(LeaderboardEntry)
class LeaderboardEntryAdmin(ReadOnlyAdmin):
    list_display = ["board", "period", "user", "points", "staked", "bets", "wins", "updated_at"]
    list_filter = ["board", "period"]
    search_fields = ["user__username"]
    ordering = ["board", "-period", "-points"]
    change_list_template = "admin/leaderboards/leaderboardentry/change_list.html"
    actions = ["rebuild_redis"]

    def get_urls(self):
        return [path("rebuild/", self.admin_site.admin_view(self.rebuild_view), name="leaderboards_rebuild")] + \
            super().get_urls()

    def rebuild_view(self, request):
        if request.method != "POST" or not request.user.is_staff:
            return redirect("admin:leaderboards_leaderboardentry_changelist")
        self._rebuild(request)
        return redirect("admin:leaderboards_leaderboardentry_changelist")

    @admin.action(description="Rebuild every Redis leaderboard from PostgreSQL")
    def rebuild_redis(self, request, queryset):
        self._rebuild(request)

    def _rebuild(self, request) -> None:
        counts = leaderboards_rebuild()
        self.message_user(request, f"Rebuilt {len(counts)} Redis boards ({sum(counts.values())} rows) from PostgreSQL.",
                          messages.SUCCESS)


@admin.register(PlayerStreak)
class PlayerStreakAdmin(ReadOnlyAdmin):
    list_display = ["user", "current", "best", "last_race", "updated_at"]
    search_fields = ["user__username"]
    ordering = ["-current"]
