"""One read-only admin base (apps/core/admin.py): every admin page that allows no add, change
or delete gets that from ReadOnlyAdmin, not from a hand-written copy of the three methods."""
from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory

from apps.core.admin import ReadOnlyAdmin, ReadOnlyPermissions

pytestmark = pytest.mark.django_db


def test_every_read_only_admin_uses_the_one_base(django_user_model):
    request = RequestFactory().get("/admin/")
    request.user = django_user_model.objects.create_superuser(username="root", password="x")
    read_only = []
    ours = {m: a for m, a in admin.site._registry.items() if m._meta.app_config.name.startswith("apps.")}
    for model_admin in ours.values():
        if not (model_admin.has_add_permission(request) or model_admin.has_change_permission(request)
                or model_admin.has_delete_permission(request)):
            read_only.append(model_admin)
            assert isinstance(model_admin, ReadOnlyAdmin), f"{type(model_admin).__name__} copies the read-only rules"
        for inline in model_admin.inlines:
            if not inline.can_delete and "has_add_permission" in vars(inline):
                assert issubclass(inline, ReadOnlyPermissions), f"{inline.__name__} copies the read-only rules"
    assert len(read_only) >= 10  # ledger, accounts, bets, odds, snapshots, candles, boards, streaks...


def test_the_base_refuses_add_change_and_delete(rf, django_user_model):
    request = rf.get("/admin/")
    request.user = django_user_model(is_superuser=True, is_staff=True)
    model_admin = ReadOnlyAdmin(django_user_model, admin.site)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert model_admin.has_view_permission(request)
