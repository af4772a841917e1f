"""Staff admin for races: create, monitor, view results, cancel with refunds, mark reviewed."""
from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.core.admin import ReadOnlyAdmin, ReadOnlyInline
from apps.races import lifecycle, services
from apps.races.forms import RaceCreateForm
from apps.races.models import Race, RaceEntry, RaceStanding, RaceTransition

S = Race.State


class EntryInline(ReadOnlyInline):
    model = RaceEntry
    verbose_name, verbose_name_plural = "lane", "Lanes"
    fields = ["lane", "stock", "open_price", "close_price", "pct_change", "final_position"]
    readonly_fields = fields


class TransitionInline(ReadOnlyInline):
    model = RaceTransition
    fields = ["from_state", "to_state", "at", "cause"]
    readonly_fields = fields


class StandingInline(ReadOnlyInline):
    model = RaceStanding
    fields = ["rank", "user", "points_won", "staked", "bets", "wins"]
    readonly_fields = fields
    verbose_name_plural = "Results (race leaderboard)"


class ActivityFilter(admin.SimpleListFilter):
    title = "activity"
    parameter_name = "activity"

    def lookups(self, request, model_admin):
        return [("active", "Active (open, running, calculating)"), ("upcoming", "Upcoming"),
                ("finished", "Finished")]

    def queryset(self, request, queryset):
        states = {"active": [S.OPEN, S.RUNNING, S.CALCULATING], "upcoming": [S.SCHEDULED],
                  "finished": [S.COMPLETED, S.CANCELLED]}.get(self.value())
        return queryset.filter(state__in=states) if states else queryset


@admin.register(Race)
class RaceAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "duration", "theme", "state_badge", "starts_at", "ends_at", "bet_count",
                    "participants", "needs_review"]
    list_filter = [ActivityFilter, "state", "duration", "needs_review", "is_generated", "theme"]
    search_fields = ["title", "theme", "entries__stock__symbol"]
    date_hierarchy = "starts_at"
    ordering = ["-starts_at"]
    inlines = [EntryInline, TransitionInline, StandingInline]
    actions = ["cancel_with_refunds", "mark_reviewed"]
    readonly_fields = ["state", "betting_opens_at", "starts_at", "ends_at", "settled_at", "participants",
                       "is_generated", "review_reason", "created_at"]
    fields = ["title", "theme", "duration", "state", "betting_opens_at", "starts_at", "ends_at", "settled_at",
              "participants", "is_generated", "needs_review", "review_reason", "created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_bets=Count("bets", distinct=True))

    @admin.display(description="bets", ordering="n_bets")
    def bet_count(self, race: Race) -> int:
        return race.n_bets

    @admin.display(description="state", ordering="state")
    def state_badge(self, race: Race) -> str:
        colour = {S.OPEN: "#2e7d32", S.RUNNING: "#1565c0", S.CALCULATING: "#ef6c00", S.CANCELLED: "#9e9e9e",
                  S.COMPLETED: "#424242"}.get(race.state, "#6d4c41")
        return format_html('<b style="color:{}">{}</b>', colour, race.get_state_display())

    def get_urls(self):
        return [path("create/", self.admin_site.admin_view(self.create_view), name="races_race_create")] + \
            super().get_urls()

    def add_view(self, request, form_url="", extra_context=None):
        return redirect("admin:races_race_create")

    def create_view(self, request):
        if not self.has_add_permission(request):
            return redirect("admin:index")
        form = RaceCreateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                race = services.race_create_themed(**form.create_kwargs())
            except services.RaceError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, f"Race {race.pk} created: {race.title}.", messages.SUCCESS)
                return redirect(reverse("admin:races_race_change", args=[race.pk]))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "title": "Create a race"}
        return TemplateResponse(request, "admin/races/race/create.html", context)

    @admin.action(description="Cancel with refunds")
    def cancel_with_refunds(self, request, queryset):
        cancelled = 0
        for race_id in queryset.filter(state__in=lifecycle.CANCELLABLE).values_list("pk", flat=True):
            cancelled += lifecycle.race_cancel(race_id=race_id, cause="cancelled by staff")
        skipped = queryset.count() - cancelled
        self.message_user(request, f"{cancelled} race(s) cancelled, every open bet refunded"
                          + (f"; {skipped} already finished were left alone." if skipped else "."))

    @admin.action(description="Mark reviewed")
    def mark_reviewed(self, request, queryset):
        done = sum(services.race_mark_reviewed(race_id=pk) for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, f"{done} race(s) marked reviewed.")


@admin.register(RaceTransition)
class RaceTransitionAdmin(ReadOnlyAdmin):
    list_display = ["race", "from_state", "to_state", "at", "cause"]
    list_filter = ["to_state"]
    search_fields = ["cause"]
