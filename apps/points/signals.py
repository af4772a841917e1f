"""The daily login bonus, granted when a player logs in with a session (pages, admin).

Token logins (POST /api/v1/auth/token/) grant it in apps.points.jwt instead: simplejwt sends
no login signal.
"""
from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from apps.points.services import daily_bonus_grant

log = logging.getLogger(__name__)


@receiver(user_logged_in, dispatch_uid="points_daily_bonus_on_login")
def grant_daily_bonus_on_login(sender, user, request=None, **kwargs):
    try:
        entry = daily_bonus_grant(user_id=user.pk)
    except Exception:  # noqa: BLE001 - a bonus hiccup must not stop a player from logging in
        log.exception("daily bonus not granted to user %s", user.pk)
        return
    if entry is not None and request is not None and hasattr(request, "_messages"):
        # The balance in the header just grew: say why (the admin's login shows it too).
        messages.info(request, f"Daily login bonus: +{entry.amount:,} points. Log in tomorrow for another.")
