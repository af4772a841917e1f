"""The Celery worker through Redis restarts, under `make run`'s supervisor (stockrace/supervisor.py),
on a private redis-server: holding ETA tasks (race transitions are ETA tasks) it loses its broker,
and once Redis is back tasks run again — whether the worker reconnected or died and was started
again. Celery 5.7.0 makes it die: closing the lost connection after ``collect()`` restores the
unacknowledged messages through a transport whose client is already gone (kombu's
``_connparams``: ``'NoneType' object has no attribute 'hostname'``), an error ``ignore_errors``
does not ignore; 5.6.3 did not close there, and neither a newer release nor a setting avoids it
(docs/RELIABILITY.md). The test pins that it runs again, and says which way it went."""
from __future__ import annotations

import io
import threading
import time

import pytest
from django.conf import settings

from apps.core.health import BEAT_KEY
from stockrace import config
from stockrace.supervisor import Program, Supervisor
from tests.support import processes
from tests.support.env import child_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _wait(check, what: str, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if value := check():
                return value
        except Exception:  # noqa: BLE001 - Redis still starting
            pass
        time.sleep(0.1)
    raise AssertionError(f"not {what} within {timeout} s")


def test_tasks_run_again_after_redis_restarts_under_a_worker_holding_eta_tasks():
    from celery import Celery

    out = io.StringIO()
    with processes.RedisServer() as server:
        env = child_env(REDIS_URL=server.url, CELERY_TASK_ALWAYS_EAGER="0")
        worker = Program("worker", f"{processes.PYTHON} -m celery -A celery_app worker --loglevel=INFO "
                                   "--concurrency=2 -n resilience@%h")
        supervisor = Supervisor([worker], env, cwd=processes.BASE_DIR, out=out, stop_timeout=10)
        # set_as_current=False: the app's own tasks (shared_task) must keep the suite's broker after
        # this test; a current app left pointing at this private server broke every later .delay().
        app = Celery(broker=config.kombu_redis_url(f"unix://{server.socket}?db={settings.REDIS_TEST_DB}"),
                     set_as_current=False)
        client = server.client(db=settings.REDIS_TEST_DB)
        supervisor.start_all()
        runner = threading.Thread(target=supervisor.supervise, daemon=True)
        runner.start()
        try:
            _wait(lambda: " ready." in out.getvalue(), "worker ready", 90)
            for restart in range(2):
                for _ in range(4):
                    app.send_task("core.heartbeat", countdown=600)  # held by the worker, unacknowledged
                client.delete(BEAT_KEY)
                app.send_task("core.heartbeat")
                _wait(lambda: client.get(BEAT_KEY), "a task run before the restart", 30)
                server.restart(2.0)
                client = server.client(db=settings.REDIS_TEST_DB)
                client.delete(BEAT_KEY)
                _wait(lambda: app.send_task("core.heartbeat") and time.sleep(1) is None and client.get(BEAT_KEY),
                      f"a task run after restart {restart}", 90)
        finally:
            supervisor.stopping.set()
            runner.join(5)
            supervisor.stop_all()
    log = out.getvalue()
    restarted = log.count("worker exited unexpectedly")
    print(f"worker restarted by the supervisor {restarted} time(s) over 2 Redis restarts")
    if restarted:
        assert "no attribute 'hostname'" in log, log[-4000:]  # the known celery 5.7.0 failure, nothing else
