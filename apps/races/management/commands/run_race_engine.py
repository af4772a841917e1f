from apps.core.workers import PlaceholderWorker


class Command(PlaceholderWorker):
    help = "Race engine: one frame per running race per second, published to the race rooms."
    worker_name = "race-engine"
    issue = "issue #5 (live race rooms)"
