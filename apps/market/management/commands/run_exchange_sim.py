from apps.core.workers import PlaceholderWorker


class Command(PlaceholderWorker):
    help = "Simulated exchange: a WebSocket quote stream and a REST API in a real provider's format."
    worker_name = "exchange-sim"
    issue = "issue #3 (market data)"
