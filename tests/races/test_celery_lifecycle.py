"""A race with near-future times goes through every state on a real Celery worker, driven by
the ETA tasks enqueued when it was created (no beat, no sweep)."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection

from apps.core.redis import redis_now
from apps.races import scheduling
from apps.races.models import Race, RaceTransition
from celery_app import app as celery_app
from tests.support import factories as f
from tests.support import processes
from tests.support.ledger import assert_ledger_balanced

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
S = Race.State


@pytest.fixture
def worker():
    with processes.celery_worker() as proc:
        yield proc
    print(proc.tail())


@pytest.fixture
def broker_not_eager():
    """This process enqueues to the real broker (the worker subprocess executes)."""
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = True


def test_race_goes_through_every_state_on_eta_tasks(worker, broker_not_eager):
    race = f.RaceFactory(state=S.SCHEDULED)
    player = f.UserFactory()
    now = redis_now()
    # Times a few seconds ahead: the worker is starting meanwhile.
    Race.objects.filter(pk=race.pk).update(betting_opens_at=now + timedelta(seconds=4),
                                           starts_at=now + timedelta(seconds=6), ends_at=now + timedelta(seconds=8))
    race.refresh_from_db()
    f.write_quotes({"AAA": 100.0, "BBB": 100.0, "CCC": 100.0, "DDD": 100.0})
    assert scheduling.schedule_upcoming(race) == 3  # open, start, finish as ETA tasks
    assert scheduling.schedule_upcoming(race) == 0  # each instant enqueued once
    connection.close()

    deadline = time.monotonic() + 60
    seen = []
    while time.monotonic() < deadline:
        state = Race.objects.filter(pk=race.pk).values_list("state", flat=True).get()
        if not seen or seen[-1] != state:
            seen.append(state)
        if state == S.OPEN and not race.bets.exists():
            f.BetFactory(race=race, user=player, symbol="AAA", stake=100, placed_at=redis_now())
        if state == S.RUNNING:
            f.write_quotes({"AAA": 103.0, "BBB": 101.0, "CCC": 99.0, "DDD": 98.0})
        if state in (S.COMPLETED, S.CANCELLED):
            break
        time.sleep(0.05)
    assert seen[-1] == S.COMPLETED, (seen, worker.returncode)
    transitions = list(RaceTransition.objects.filter(race=race).order_by("at"))
    assert [(t.from_state, t.to_state) for t in transitions] == [
        (S.SCHEDULED, S.OPEN), (S.OPEN, S.RUNNING), (S.RUNNING, S.CALCULATING), (S.CALCULATING, S.COMPLETED)]
    due = [race.betting_opens_at, race.starts_at, race.ends_at]
    # Reported, not asserted (timing belongs in benchmarks): how late each transition was.
    print("lateness (s):", [round((t.at - d).total_seconds(), 3) for t, d in zip(transitions, due)])
    bet = race.bets.get()
    assert bet.status == "won" and bet.payout > 0
    assert_ledger_balanced()
