"""``manage.py run_market_data``: the market-data worker, a process of its own.

One WebSocket to the provider chosen by MARKET_DATA_PROVIDER; latest quotes to Redis
(``quote:{SYM}``, published on ``quotes:{SYM}``), snapshots and candles to PostgreSQL, gaps
backfilled and recorded. See apps/feed/worker.py and docs/ARCHITECTURE-feed.md.
"""
from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from apps.core.redis import get_redis
from apps.core.workers import WorkerCommand
from apps.providers import get_provider
from apps.feed.worker import FeedWorker
from apps.market.candles import CandleBuilder
from apps.market.models import Stock


def listed_symbols() -> list[str]:
    return list(Stock.objects.filter(is_active=True).order_by("symbol").values_list("symbol", flat=True))


class Command(WorkerCommand):
    help = "Market-data worker: one WebSocket to the provider, quotes to Redis, snapshots and candles to PostgreSQL."
    worker_name = "market-data"

    def add_arguments(self, parser):
        parser.add_argument("--provider", choices=["simulator", "replay", "finnhub", "alpaca"], default=None,
                            help="override MARKET_DATA_PROVIDER")

    def run(self, **options):
        provider = get_provider(options["provider"])
        listed = listed_symbols()
        # The simulator and the replay stream everything they list: subscribe to "*".
        everything = provider.name in ("simulator", "replay")
        redis = get_redis()
        # Higher layers plug into the quote stream by name (QUOTE_BATCH_HOOKS): each path is a
        # factory called once with ``redis=``, returning the callable given every batch.
        hooks = [import_string(path)(redis=redis) for path in settings.QUOTE_BATCH_HOOKS]
        worker = FeedWorker(provider=provider, redis=redis, stopping=self.stopping, candles=CandleBuilder(),
                            symbols=None if everything else listed,
                            listed_symbols=None if everything else listed_symbols, quote_hooks=hooks)
        worker.resume(listed)
        self.log.info("market-data worker: provider %s, %d listed symbols, %d quote hooks", provider.name, len(listed),
                      len(hooks))
        worker.run()
