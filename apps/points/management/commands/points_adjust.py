"""Operators: credit or debit a player's points through the ledger.

    manage.py points_adjust alice 250 --reason "refund for the outage on 21 Nov"
    manage.py points_adjust alice -100 --reason "duplicate credit" --key ticket-4711

``--key`` makes a retried command harmless: the same key never applies twice.
"""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apps.points.ledger import InsufficientPoints
from apps.points.services import points_adjust


class Command(BaseCommand):
    help = "Credit (positive AMOUNT) or debit (negative) a player's points, with a ledger entry."

    def add_arguments(self, parser):
        parser.add_argument("user", help="username (or numeric id)")
        parser.add_argument("amount", type=int, help="points to add; negative to take away")
        parser.add_argument("--reason", required=True, help="why (kept on the ledger entry)")
        parser.add_argument("--key", default=None, help="idempotency key: a repeat with the same key changes nothing")

    def handle(self, *args, user, amount, reason, key, **options):
        User = get_user_model()
        found = User.objects.filter(username=user).first()
        if found is None and user.isdigit():
            found = User.objects.filter(pk=int(user)).first()
        if found is None:
            raise CommandError(f"No player {user!r}.")
        try:
            entry, created = points_adjust(user_id=found.pk, amount=amount, reason=reason, idempotency_key=key,
                                           actor="manage.py points_adjust")
        except (ValueError, InsufficientPoints) as exc:
            raise CommandError(str(exc))
        if not created:
            self.stdout.write(f"Already applied with key {key!r} (entry {entry.pk}); nothing changed.")
            return
        self.stdout.write(self.style.SUCCESS(
            f"{found.username}: {entry.amount:+d} points (entry {entry.pk}); balance now {entry.balance_after}."))
