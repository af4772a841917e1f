"""/healthz reports every part of the stack and answers 503 naming what fails; details
(exception texts, lags) only for staff."""
import json

import pytest

from apps.core import health
from apps.core.redis import get_redis, redis_now_ts
from apps.market.quotes import FEED_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_user(username="ops", password="x-long-password",
                                                              is_staff=True))
    return client


def test_all_parts_ok_gives_200(client, settings):
    health.record_beat()
    get_redis().hset(FEED_KEY, mapping={"last_recv": redis_now_ts(), "provider": "simulator", "connected": 1})
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["failing"] == []
    assert body["checks"] == {name: {"ok": True, "state": "ok"}
                              for name in ("database", "redis", "celery_broker", "beat", "market_data")}


def test_silent_beat_and_feed_give_503_naming_them(staff_client):
    client = staff_client
    client_redis = get_redis()
    client_redis.set(health.BEAT_KEY, redis_now_ts() - 3600)
    client_redis.hset(FEED_KEY, mapping={"last_recv": redis_now_ts() - 120, "provider": "simulator"})
    response = client.get("/healthz")
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["failing"] == ["beat", "market_data"]
    assert body["checks"]["market_data"]["lag_s"] >= 119
    assert "no heartbeat" in body["checks"]["beat"]["error"]


def test_a_broken_check_is_reported_not_raised(staff_client, monkeypatch):
    def boom():
        raise ConnectionError("database is on fire")

    monkeypatch.setitem(health.CHECKS, "database", boom)
    response = staff_client.get("/healthz")
    assert response.status_code == 503
    assert "database is on fire" in response.json()["checks"]["database"]["error"]


def test_anyone_else_sees_each_component_and_its_state_without_details(client, monkeypatch):
    def boom():
        raise ConnectionError("password=hunter2 at db.internal:5432")

    monkeypatch.setitem(health.CHECKS, "database", boom)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"][0] == "database"
    assert body["checks"]["database"] == {"ok": False, "state": "failing"}
    assert set(body["checks"]) == {"database", "redis", "celery_broker", "beat", "market_data"}
    assert "hunter2" not in response.content.decode() and "lag_s" not in response.content.decode()


def test_heartbeat_task_records_beat():
    from apps.core.tasks import heartbeat

    heartbeat.delay()
    assert float(get_redis().get(health.BEAT_KEY)) == pytest.approx(redis_now_ts(), abs=5)


def test_livez_answers_without_touching_the_database_or_redis(client, django_assert_num_queries, monkeypatch):
    """/livez: the process serves; what tests/support's readiness probe waits for, quietly."""
    from apps.core import views

    checked = []
    real = views.system_health
    monkeypatch.setattr(views, "system_health", lambda: checked.append(1) or real())
    client.get("/healthz")
    assert checked == [1]  # the patch is where the views look
    with django_assert_num_queries(0):
        response = client.get("/livez")
    assert response.status_code == 200 and response.content == b"ok\n"
    assert client.head("/livez").status_code == 200
    assert checked == [1]


@pytest.mark.slow
def test_a_server_started_for_tests_logs_no_error_while_it_comes_up():
    """The readiness wait probes /livez: no "Service Unavailable: /healthz" line per server start."""
    from tests.support import processes

    with processes.daphne() as server:
        assert processes.http_answers(server.port)()
        log = server.log()
    assert "Service Unavailable" not in log and "ERROR" not in log, log[-2000:]
