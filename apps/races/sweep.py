"""The beat sweep (every RACE_SWEEP_SECONDS): the safety net under the ETA tasks.

It makes every transition that is due, re-enqueues settlement of races left in
`calculating`, and (re)schedules the ETA tasks of upcoming transitions within the horizon.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from apps.core.redis import get_redis, redis_now
from apps.races import lifecycle, scheduling
from apps.races.models import Race

S = Race.State
SETTLE_KEY = "race:settle-enqueued:{}"


def races_sweep(*, now: datetime | None = None) -> dict[str, int]:
    now = now or redis_now()
    due = (Race.objects.filter(Q(state=S.SCHEDULED, betting_opens_at__lte=now) | Q(state=S.OPEN, starts_at__lte=now)
                               | Q(state=S.RUNNING, ends_at__lte=now))
           .order_by("starts_at").values_list("pk", flat=True))
    advanced = sum(1 for race_id in due if lifecycle.race_advance(race_id=race_id, now=now))

    client = get_redis()
    settle_enqueued = 0
    from apps.races.tasks import race_settle_task

    for race_id in Race.objects.filter(state=S.CALCULATING).values_list("pk", flat=True):
        # Throttled: a long settlement must not be queued again every sweep.
        if client.set(SETTLE_KEY.format(race_id), "1", nx=True, ex=settings.RACE_STUCK_AFTER_SECONDS):
            race_settle_task.delay(race_id)
            settle_enqueued += 1

    horizon = now + timedelta(seconds=settings.RACE_ETA_HORIZON_SECONDS)
    upcoming = Race.objects.filter(Q(state=S.SCHEDULED, betting_opens_at__lte=horizon)
                                   | Q(state__in=[S.SCHEDULED, S.OPEN], starts_at__lte=horizon)
                                   | Q(state__in=[S.SCHEDULED, S.OPEN, S.RUNNING], ends_at__lte=horizon))
    scheduled = sum(scheduling.schedule_upcoming(race, now) for race in upcoming)
    return {"advanced": advanced, "settle_enqueued": settle_enqueued, "eta_scheduled": scheduled}
