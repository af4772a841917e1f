"""Helpers for live-room tests: run a coroutine with a fresh hub, and connect through the real ASGI app."""
from __future__ import annotations

import asyncio

import pytest
from channels.testing import WebsocketCommunicator

ORIGIN = [(b"origin", b"http://127.0.0.1")]
# Transactional tests flush only these apps' tables: much faster than a flush of every table.
LIVE_APPS = ["apps.live", "apps.races", "apps.market", "apps.accounts", "apps.points", "apps.bets",
             "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
             "rest_framework_simplejwt.token_blacklist"]
transactional = pytest.mark.django_db(transaction=True, available_apps=LIVE_APPS)


def connect(path: str, headers=()) -> WebsocketCommunicator:
    from stockrace.asgi import application

    return WebsocketCommunicator(application, path, headers=[*ORIGIN, *headers])


@pytest.fixture
def run_async():
    """Run a test coroutine on its own event loop, closing the loop's hub afterwards."""

    def run(coro_fn, *args):
        async def wrapper():
            from apps.live.hub import get_hub

            try:
                return await asyncio.wait_for(coro_fn(*args), timeout=30)
            except asyncio.TimeoutError:
                for task in asyncio.all_tasks():
                    task.print_stack()
                raise
            finally:
                await get_hub().aclose()

        return asyncio.run(wrapper())

    return run
