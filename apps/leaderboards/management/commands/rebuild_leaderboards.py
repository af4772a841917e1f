"""Rebuild the Redis leaderboards from PostgreSQL (the truth), printing progress."""
from django.core.management.base import BaseCommand

from apps.leaderboards.services import leaderboards_rebuild


class Command(BaseCommand):
    help = "Rebuild every Redis leaderboard (global, weekly, monthly and per race) from PostgreSQL."

    def handle(self, *args, **options):
        counts = leaderboards_rebuild(progress=self.stdout.write)
        self.stdout.write(self.style.SUCCESS(f"rebuilt {len(counts)} boards, {sum(counts.values())} rows"))
