"""Badge tasks: evaluating a settled race (queued by settlement after its commit)."""
from celery import shared_task
from django.db import OperationalError

from apps.badges.services import badges_evaluate_race


@shared_task(name="badges.evaluate_race", ignore_result=True, time_limit=120, soft_time_limit=100,
             autoretry_for=(OperationalError,), retry_backoff=2, max_retries=5)
def badges_evaluate_race_task(race_id: int) -> None:
    """Safe to run twice: awards are unique per player and badge, rewards per idempotency key."""
    badges_evaluate_race(race_id=race_id)
