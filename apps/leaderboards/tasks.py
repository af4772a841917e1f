"""Leaderboard tasks: copying a settled race into the Redis boards."""
from celery import shared_task
from redis.exceptions import ConnectionError as RedisConnectionError

from apps.leaderboards.services import leaderboard_sync_race


@shared_task(name="leaderboards.sync_race", ignore_result=True, time_limit=120, soft_time_limit=100,
             autoretry_for=(RedisConnectionError,), retry_backoff=2, max_retries=5)
def leaderboards_sync_race_task(race_id: int) -> None:
    leaderboard_sync_race(race_id=race_id)
