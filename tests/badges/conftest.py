"""Builders for badge tests: races settled by the real settlement, then evaluated."""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from apps.badges.models import Badge, UserBadge
from apps.core.redis import redis_now
from apps.races import settlement
from apps.races.models import Race
from tests.support import factories as f

S = Race.State
# AAA wins, BBB second, CCC third, DDD last.
PCT = {"AAA": 2.0, "BBB": 1.0, "CCC": -0.5, "DDD": -3.0}
PODIUM = ["AAA", "BBB", "CCC"]


def settled_race(bets, *, duration: str = "5m", pct: dict | None = None) -> Race:
    """A race settled by apps.races.settlement with ``bets``: [(user, {bet kwargs}), ...].

    Settlement's on-commit work (leaderboards, the badge task) does not run inside a test's
    transaction; tests evaluate badges themselves.
    """
    race = f.RaceFactory(state=S.CALCULATING, duration=duration)
    f.lock_results(race, pct or PCT)
    for user, kwargs in bets:
        f.BetFactory(race=race, user=user, **kwargs)
    assert settlement.race_settle(race_id=race.pk) is not None
    race.refresh_from_db()
    return race


def past_race_played(user, *, won: bool = False, minutes_ago: int = 60) -> Race:
    """A completed race of the past where ``user`` had a settled winner bet (history for counts)."""
    from apps.bets.models import Bet

    race = f.RaceFactory(state=S.COMPLETED)
    settled = redis_now() - timedelta(minutes=minutes_ago)
    Race.objects.filter(pk=race.pk).update(settled_at=settled)
    f.BetFactory(race=race, user=user, symbol="AAA", stake=10)
    Bet.objects.filter(race=race, user=user).update(status=Bet.Status.WON if won else Bet.Status.LOST,
                                                    payout=20 if won else 0)
    return race


def held(user) -> set[str]:
    return set(UserBadge.objects.filter(user=user).values_list("badge__code", flat=True))


@pytest.fixture
def catalog(db):
    """The catalog rows (the data migration put them there; transactional tests flush them)."""
    from apps.badges.services import badge_catalog_sync

    badge_catalog_sync()
    return {b.code: b for b in Badge.objects.all()}


@pytest.fixture
def hold_badge_task(monkeypatch):
    """Settlement queues the badge task on commit (run at once under eager Celery): transactional
    tests that evaluate races themselves hold it back. Returns the race ids it was queued for."""
    from apps.badges import tasks

    queued: list[int] = []
    monkeypatch.setattr(tasks, "badges_evaluate_race_task", SimpleNamespace(delay=queued.append))
    return queued
