"""The review queue in the staff admin: flagged accounts by score, each case with its signals and
evidence (timing histogram, accuracy against expectation, linked accounts side by side), and the
decision form (clear / keep restricted / ban, with a reason). Decisions are the audit trail."""
from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from apps.botdetect.models import Blocklist, Decision, Suspicion
from apps.botdetect.selectors import player_case
from apps.botdetect.services import DecisionError, decision_apply
from apps.core.admin import ReadOnlyAdmin


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("clear", "Clear: release held points, back on the leaderboards"),
                                          ("restrict", "Keep restricted"),
                                          ("ban", "Ban: burn held points, disable, block devices and addresses")],
                                 widget=forms.RadioSelect)
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


@admin.register(Suspicion)
class SuspicionAdmin(admin.ModelAdmin):
    list_display = ["user", "score", "kinds", "status", "decided", "queued_at", "restricted_at", "computed_at"]
    list_filter = ["status", "decided"]
    search_fields = ["user__username"]
    ordering = ["-score"]
    list_select_related = ["user"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [path("<int:user_id>/review/", self.admin_site.admin_view(self.review), name="botdetect_review"),
                *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return redirect("admin:botdetect_review", user_id=int(object_id))

    def review(self, request, user_id: int):
        user = get_object_or_404(get_user_model(), pk=user_id)
        form = DecisionForm(request.POST or None)
        if request.method == "POST" and self.has_change_permission(request) and form.is_valid():
            try:
                record = decision_apply(user=user, staff=request.user, **form.cleaned_data)
            except DecisionError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"{user.username}: {record.get_action_display()} recorded "
                                          f"({record.points_moved} held points moved).")
                return redirect(reverse("admin:botdetect_suspicion_changelist"))
        case = player_case(user=user)
        context = {**self.admin_site.each_context(request), "title": f"Fair-play review: {user.username}",
                   "case": case, "form": form, "opts": self.model._meta,
                   "can_decide": self.has_change_permission(request)}
        return TemplateResponse(request, "admin/botdetect/review.html", context)


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ["at", "user", "action", "staff", "score", "points_moved", "reason"]
    list_filter = ["action"]
    search_fields = ["user__username", "staff__username", "reason"]

@admin.register(Blocklist)
class BlocklistAdmin(admin.ModelAdmin):
    list_display = ["kind", "value", "decision", "created_at"]
    list_filter = ["kind"]
    search_fields = ["value"]
