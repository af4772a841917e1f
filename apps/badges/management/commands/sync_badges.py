"""Sync the badge catalog defined in code (apps.badges.catalog) into the database."""
from django.core.management.base import BaseCommand

from apps.badges.services import badge_catalog_sync


class Command(BaseCommand):
    help = ("Insert badges added to apps.badges.catalog and refresh their icon, tier and order. Idempotent; "
            "staff's edits of name, description, reward and active are kept.")

    def handle(self, *args, **options):
        result = badge_catalog_sync()
        for code in result.created:
            self.stdout.write(f"added {code}")
        self.stdout.write(self.style.SUCCESS(
            f"{len(result.created)} badges added, {len(result.updated)} refreshed"))
