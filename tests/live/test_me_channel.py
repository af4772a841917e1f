"""The personal channel: session or JWT, anonymous refused with 4401, events after commit."""
import json

from channels.db import database_sync_to_async
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from apps.core.events import user_event_on_commit
from tests.live.conftest import connect, transactional

pytestmark = transactional


def test_anonymous_is_closed_with_4401(run_async):
    async def scenario():
        for path in ("/ws/me/", "/ws/me/?token=not-a-jwt"):
            ws = connect(path)
            assert (await ws.connect())[0]
            assert (await ws.receive_output(timeout=5)) == {"type": "websocket.close", "code": 4401}

    run_async(scenario)


def test_jwt_user_receives_own_events_only(run_async, player, django_user_model):
    other = django_user_model.objects.create_user(username="other", password="x-long-password")
    token = str(AccessToken.for_user(player))

    async def scenario():
        ws = connect(f"/ws/me/?token={token}")
        assert (await ws.connect())[0]
        assert json.loads(await ws.receive_from(timeout=5)) == {"type": "hello", "user": player.id}
        await database_sync_to_async(user_event_on_commit)(other.id, {"type": "payout", "amount": 5})
        await database_sync_to_async(user_event_on_commit)(player.id, {"type": "bet_confirmed", "bet": {"id": 9}})
        event = json.loads(await ws.receive_from(timeout=5))
        assert event["type"] == "bet_confirmed" and event["bet"] == {"id": 9} and event["user"] == player.id
        assert await ws.receive_nothing(timeout=0.2)
        await ws.disconnect()

    run_async(scenario)


def test_session_cookie_authenticates(run_async, player):
    client = Client()
    client.force_login(player)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    async def scenario():
        ws = connect("/ws/me/", headers=[(b"cookie", cookie)])
        assert (await ws.connect())[0]
        assert json.loads(await ws.receive_from(timeout=5)) == {"type": "hello", "user": player.id}
        await ws.disconnect()

    run_async(scenario)
