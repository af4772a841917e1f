"""manage.py sync_symbols [--full] — apply the market-data provider's symbol list now.

Incremental (default): new listings, renames, delistings and metadata the provider reports.
--full: also delists stocks the provider no longer lists, loads missing daily history and
derives the 52-week range and average volume from stored daily candles.
"""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from apps.providers.base import ProviderError


class Command(BaseCommand):
    help = "Sync symbols and metadata from the market-data provider (settings.MARKET_DATA_PROVIDER)."

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="full sync (delist missing, derive metadata)")
        parser.add_argument("--provider", help="provider name instead of MARKET_DATA_PROVIDER")

    def handle(self, *args, full, provider, **options):
        from apps.providers import get_provider
        from apps.market.symbol_sync import symbols_sync

        try:
            source = get_provider(provider)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        try:
            report = symbols_sync(provider=source, full=full)
        except ProviderError as exc:
            raise CommandError(f"the provider {source.name!r} failed: {exc}") from None
        self.stdout.write(report.summary())
