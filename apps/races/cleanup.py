"""The cleanup task: races stuck in an intermediate state after a crash or a stall.

- running long past its end: finished with the feed's price snapshots at the end instant when
  it has them, else with the live quotes there are now (flagged for review either way), or
  cancelled with full refunds when a price is missing;
- calculating too long: settled again (settlement is idempotent), or cancelled with full
  refunds if settlement keeps failing;
- open bets left in a cancelled race (placed while it was being cancelled) are refunded;
- finished races that overlapped a recorded market-data gap are flagged for review;
- settled races whose after-commit work may be lost get the catch-ups registered in
  ``settled_followups`` (the leaderboard sync).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from apps.bets.models import Bet
from apps.core.redis import redis_now
from apps.feed.selectors import gaps_overlapping
from apps.races import lifecycle, refunds, settlement
from apps.races.models import Race, RaceTransition

log = logging.getLogger(__name__)
S = Race.State
# Catch-up work for races settled in the last hour whose after-commit work may have been lost:
# name -> callable(race_ids=...) returning how many it did. Registered from above in
# AppConfig.ready (apps.leaderboards: "leaderboards_synced"); the races app imports none of them.
settled_followups: dict = {}


def races_cleanup(*, now: datetime | None = None) -> dict[str, int]:
    now = now or redis_now()
    stuck_before = now - timedelta(seconds=settings.RACE_STUCK_AFTER_SECONDS)
    done = {"finished": 0, "settled": 0, "cancelled": 0, "refunded_late_bets": 0, "flagged": 0}

    for race_id in Race.objects.filter(state=S.RUNNING, ends_at__lt=stuck_before).values_list("pk", flat=True):
        if lifecycle.race_finish(race_id=race_id, now=now, cause="cleanup: finished after a stall"):
            done["finished"] += 1
        else:
            done["cancelled"] += Race.objects.filter(pk=race_id, state=S.CANCELLED).exists()

    calculating_since = dict(RaceTransition.objects.filter(race__state=S.CALCULATING, to_state=S.CALCULATING)
                             .values_list("race_id", "at"))
    for race_id in Race.objects.filter(state=S.CALCULATING).values_list("pk", flat=True):
        since = calculating_since.get(race_id)
        if since is not None and since > stuck_before:
            continue
        try:
            if settlement.race_settle(race_id=race_id, now=now):
                done["settled"] += 1
        except Exception as exc:  # settlement rolled back whole: nothing was paid, refund every stake
            log.exception("race %s: settlement failed in cleanup", race_id)
            if lifecycle.race_cancel(race_id=race_id, now=now, from_states=(S.CALCULATING,),
                                     cause=f"cleanup: settlement failed ({type(exc).__name__})"):
                done["cancelled"] += 1

    late = (Bet.objects.filter(status=Bet.Status.OPEN, race__state=S.CANCELLED)
            .values_list("race_id", flat=True).distinct())
    for race_id in list(late):
        with transaction.atomic():
            Race.objects.select_for_update().filter(pk=race_id).first()
            count, _ = refunds.refund_open_bets(race_id=race_id, memo="Refund: race cancelled")
        done["refunded_late_bets"] += count

    done["flagged"] = _flag_data_gaps(now)
    recent = Race.objects.filter(state=S.COMPLETED, settled_at__gte=now - timedelta(hours=1),
                                 settled_at__lt=now - timedelta(seconds=settings.RACE_STUCK_AFTER_SECONDS))
    race_ids = list(recent.values_list("pk", flat=True))
    for name, followup in settled_followups.items():
        done[name] = followup(race_ids=race_ids)
    return done


def _flag_data_gaps(now: datetime) -> int:
    flagged = 0
    recent = Race.objects.filter(state__in=[S.COMPLETED, S.CALCULATING], needs_review=False,
                                 ends_at__gte=now - timedelta(days=1)).prefetch_related("entries__stock")
    for race in recent:
        symbols = [e.stock.symbol for e in race.entries.all()]
        gaps = list(gaps_overlapping(race.starts_at, race.ends_at, symbols))
        if gaps and Race.objects.filter(pk=race.pk, needs_review=False).update(
                needs_review=True, review_reason=f"market data gap during the race ({len(gaps)} recorded)"):
            flagged += 1
    return flagged
