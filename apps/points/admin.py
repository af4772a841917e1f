"""Staff views of points: accounts (with an "adjust points" action) and the read-only ledger."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from apps.core.admin import ReadOnlyAdmin
from apps.points.ledger import InsufficientPoints
from apps.points.models import LedgerEntry, PointsAccount
from apps.points.services import points_adjust


class AdjustForm(forms.Form):
    amount = forms.IntegerField(help_text="Points to add to each selected account; negative to take away.")
    reason = forms.CharField(max_length=150, help_text="Kept on each ledger entry.")
    # A random token rendered into the form: submitting the same form twice adjusts once.
    token = forms.CharField(widget=forms.HiddenInput)

    def clean_amount(self):
        if self.cleaned_data["amount"] == 0:
            raise forms.ValidationError("Choose a non-zero amount.")
        return self.cleaned_data["amount"]


@admin.action(description="Adjust points of the selected players…", permissions=["adjust"])
def adjust_points(modeladmin, request, queryset):
    import uuid

    if "apply" in request.POST:
        form = AdjustForm(request.POST)
        if form.is_valid():
            done, refused = 0, []
            for account in queryset.select_related("user").order_by("pk"):
                try:
                    points_adjust(user_id=account.user_id, amount=form.cleaned_data["amount"],
                                  reason=form.cleaned_data["reason"],
                                  idempotency_key=f"admin:{form.cleaned_data['token']}:{account.user_id}",
                                  actor=f"staff {request.user.username}")
                    done += 1
                except InsufficientPoints as exc:
                    refused.append(f"{account.user.username} ({exc})")
            if done:
                modeladmin.message_user(request, f"Adjusted {done} account(s) by {form.cleaned_data['amount']:+d}.")
            if refused:
                modeladmin.message_user(request, "Not adjusted: " + "; ".join(refused), level=messages.ERROR)
            return None
    else:
        form = AdjustForm(initial={"token": uuid.uuid4().hex})
    context = {**modeladmin.admin_site.each_context(request), "title": "Adjust points", "form": form,
               "accounts": queryset.select_related("user"), "opts": modeladmin.model._meta,
               "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME}
    return TemplateResponse(request, "admin/points/adjust.html", context)


@admin.register(PointsAccount)
class PointsAccountAdmin(ReadOnlyAdmin):
    """Accounts open at sign-up; a balance changes only through the ledger (the action above)."""

    list_display = ["user", "balance", "last_bet_at", "updated_at"]
    search_fields = ["user__username", "user__email"]
    readonly_fields = ["user", "balance", "last_bet_at", "updated_at"]
    list_select_related = ["user"]
    actions = [adjust_points]

    def has_adjust_permission(self, request):
        return request.user.is_active and request.user.is_staff and (
            request.user.is_superuser or request.user.has_perm("points.add_ledgerentry"))


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "user", "kind", "amount", "balance_after", "race", "bet_id", "memo"]
    list_filter = ["kind"]
    search_fields = ["user__username", "idempotency_key", "memo"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
