"""Fixtures shared by the whole suite. Every test runs on real PostgreSQL and Redis."""
from __future__ import annotations

import pytest
from django.conf import settings


@pytest.fixture(autouse=True)
def _clean_redis():
    """Each test starts with an empty test Redis database (db 15 unless REDIS_TEST_DB says)."""
    from apps.core.redis import get_redis

    client = get_redis()
    # Never flush a database the demo may be using.
    assert client.connection_pool.connection_kwargs.get("db", 0) == settings.REDIS_TEST_DB != 0
    client.flushdb()
    yield
    client.flushdb()


@pytest.fixture
def redis_client():
    from apps.core.redis import get_redis

    return get_redis()


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def player(db, django_user_model):
    from apps.accounts.services import user_register

    return user_register(username="player1", password="correct-horse-battery")


@pytest.fixture
def player_client(api_client, player):
    api_client.force_authenticate(player)
    return api_client
