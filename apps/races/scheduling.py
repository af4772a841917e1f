"""Putting each race transition on the Celery queue with an ETA, so it happens on time.

Times are Redis server time (the one clock); a worker fires an ETA by its own clock, so the
ETA is the worker-local "now" plus the delay measured on Redis. Each (race, instant) is
enqueued once, guarded by a Redis SET NX key; the beat sweep calls the same function for
every upcoming transition, so a lost message is re-enqueued. ETAs further away than
RACE_ETA_HORIZON_SECONDS are left to a later sweep: the broker redelivers unacknowledged
messages after its visibility timeout, and an ETA task waits unacknowledged.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from django.conf import settings
from django.db import transaction

from apps.core.redis import get_redis, redis_now
from apps.races.models import Race

ETA_KEY = "race:eta:{}:{}"


def _eager() -> bool:
    from celery_app import app

    return bool(app.conf.task_always_eager)


def schedule_advance(*, race_id: int, at: datetime, now: datetime | None = None) -> bool:
    """Enqueue races.advance for race_id to run at ``at`` (Redis time). True if enqueued now."""
    if _eager():
        # Eager mode (tests) would run an ETA task at once, before it is due: tests drive time themselves.
        return False
    client = get_redis()
    now = now or redis_now(client)
    delay = (at - now).total_seconds()
    if delay > settings.RACE_ETA_HORIZON_SECONDS:
        return False
    key = ETA_KEY.format(race_id, int(at.timestamp()))
    if not client.set(key, "1", nx=True, ex=int(max(delay, 0)) + 300):
        return False
    from apps.races.tasks import race_advance_task

    eta = datetime.now(timezone.utc) + timedelta(seconds=max(0.0, delay))
    race_advance_task.apply_async(args=[race_id], eta=eta)
    return True


def upcoming_instants(race: Race) -> list[datetime]:
    """The instants at which race's next transitions fall due, given its state."""
    if race.state == Race.State.SCHEDULED:
        return [race.betting_opens_at, race.starts_at, race.ends_at]
    if race.state == Race.State.OPEN:
        return [race.starts_at, race.ends_at]
    if race.state == Race.State.RUNNING:
        return [race.ends_at]
    return []


def schedule_upcoming(race: Race, now: datetime | None = None) -> int:
    now = now or redis_now()
    return sum(schedule_advance(race_id=race.pk, at=at, now=now) for at in upcoming_instants(race))


def schedule_upcoming_on_commit(race: Race) -> None:
    transaction.on_commit(lambda: schedule_upcoming(race))


def enqueue_settlement_on_commit(race_id: int) -> None:
    def enqueue():
        from apps.races.tasks import race_settle_task

        race_settle_task.delay(race_id)

    transaction.on_commit(enqueue)
