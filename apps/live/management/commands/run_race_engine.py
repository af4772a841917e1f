"""manage.py run_race_engine: the race engine process (see apps/live/engine.py)."""
from django.conf import settings
from django.db import close_old_connections

from apps.core.redis import get_redis
from apps.core.workers import WorkerCommand
from apps.live.engine import RaceEngine


class Command(WorkerCommand):
    help = "Race engine: one frame per running race per second, published to the race rooms."
    worker_name = "race-engine"

    def run(self, **options):
        engine = RaceEngine(get_redis(), lease_ms=settings.LIVE_ENGINE_LEASE_MS)
        self.log.info("race engine starting (lease %s, %d ms)", engine.lease.token, engine.lease.ttl_ms)
        # A long-lived process: drop a database connection the server closed before each cycle.
        engine.run(self.stopping, poll_seconds=settings.LIVE_ENGINE_POLL_SECONDS, before_cycle=close_old_connections)
