from apps.core.workers import PlaceholderWorker


class Command(PlaceholderWorker):
    help = "Market-data worker: one WebSocket to the provider, quotes to Redis, snapshots to PostgreSQL."
    worker_name = "market-data"
    issue = "issue #3 (market data)"
