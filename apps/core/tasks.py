"""Housekeeping tasks of the whole stack."""
from celery import shared_task

from apps.core import health


@shared_task(name="core.heartbeat", ignore_result=True, time_limit=10, soft_time_limit=8)
def heartbeat() -> None:
    """Run by beat every HEARTBEAT_INTERVAL_SECONDS: proves beat schedules and a worker runs."""
    health.record_beat()
