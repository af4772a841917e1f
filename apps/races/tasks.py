"""Race tasks: thin, take ids, safe to run twice (every transition is a conditional UPDATE)."""
from __future__ import annotations

from celery import shared_task

from apps.core.redis import redis_now
from apps.races.scheduling import _eager


@shared_task(name="races.advance", ignore_result=True, time_limit=60, soft_time_limit=50,
             max_retries=5, default_retry_delay=1)
def race_advance_task(race_id: int) -> None:
    """Run at a transition's ETA: make whatever transitions of the race are due."""
    from apps.races.lifecycle import race_advance
    from apps.races.models import Race

    now = redis_now()
    race_advance(race_id=race_id, now=now)
    # A worker clock ahead of Redis may fire the ETA a hair early: try again shortly.
    race = Race.objects.filter(pk=race_id).only("state", "betting_opens_at", "starts_at", "ends_at").first()
    if race is not None:
        due = {Race.State.SCHEDULED: race.betting_opens_at, Race.State.OPEN: race.starts_at,
               Race.State.RUNNING: race.ends_at}.get(race.state)
        if due is not None and 0 < (due - now).total_seconds() < 2 and not _eager():
            race_advance_task.apply_async(args=[race_id], countdown=(due - now).total_seconds())


@shared_task(name="races.settle", ignore_result=True, time_limit=600, soft_time_limit=540,
             autoretry_for=(Exception,), retry_backoff=2, retry_backoff_max=60, max_retries=5)
def race_settle_task(race_id: int) -> None:
    from apps.races.settlement import race_settle

    race_settle(race_id=race_id)


@shared_task(name="races.sweep", ignore_result=True, time_limit=30, soft_time_limit=25)
def races_sweep_task() -> None:
    from apps.races.sweep import races_sweep

    races_sweep()


@shared_task(name="races.cleanup", ignore_result=True, time_limit=600, soft_time_limit=540)
def races_cleanup_task() -> None:
    from apps.races.cleanup import races_cleanup

    races_cleanup()


@shared_task(name="races.generate", ignore_result=True, time_limit=120, soft_time_limit=100)
def races_generate_task() -> None:
    from apps.races.generation import lobby_fill

    lobby_fill()


@shared_task(name="races.house_bet", ignore_result=True, time_limit=30, soft_time_limit=25)
def race_house_bet_task(race_id: int, user_id: int, seq: int) -> None:
    from apps.races.house import house_bet_place

    house_bet_place(race_id=race_id, user_id=user_id, seq=seq)
