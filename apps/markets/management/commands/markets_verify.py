"""Rebuild every market from its trade ledger and report any difference (exit status 1 if any)."""
from django.core.management.base import BaseCommand, CommandError

from apps.markets.verify import markets_verify


class Command(BaseCommand):
    help = "Rebuild every prediction market from its trades and report where the stored state differs."

    def add_arguments(self, parser):
        parser.add_argument("market", nargs="*", type=int, help="market ids (default: every market)")

    def handle(self, *args, **options):
        found = markets_verify(options["market"] or None)
        for market_id, problems in found.items():
            for problem in problems:
                self.stdout.write(problem)
        if found:
            raise CommandError(f"{sum(len(p) for p in found.values())} differences in {len(found)} markets")
        self.stdout.write("every market matches its trade ledger")
