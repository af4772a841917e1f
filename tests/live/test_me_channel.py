"""The personal channel: session (browsers), bearer header, first message or ticket; never a
token in the query string; anonymous or revoked refused with 4401; events after commit."""
import json

from channels.db import database_sync_to_async
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from apps.accounts.tokens import tokens_revoke_user, ws_ticket_issue
from apps.core.events import user_event_on_commit
from tests.live.conftest import connect, transactional

pytestmark = transactional


async def _closed_with(ws, code: int) -> bool:
    return (await ws.receive_output(timeout=5)) == {"type": "websocket.close", "code": code}


def test_anonymous_is_closed_with_4401(run_async, player, settings):
    settings.LIVE_WS_AUTH_SECONDS = 0.5
    token = str(AccessToken.for_user(player))

    async def scenario():
        silent = connect("/ws/me/")  # says nothing: closed when the time to authenticate is up
        assert (await silent.connect())[0]
        assert await _closed_with(silent, 4401)
        for first in ({"type": "ping"}, {"type": "auth", "token": "not-a-jwt"}, {"type": "auth"}):
            ws = connect("/ws/me/")
            assert (await ws.connect())[0]
            await ws.send_to(text_data=json.dumps(first))
            assert await _closed_with(ws, 4401), first
        # A token in the query string is not a credential any more (it ends up in access logs).
        ws = connect(f"/ws/me/?token={token}")
        assert (await ws.connect())[0]
        assert await _closed_with(ws, 4401)

    run_async(scenario)


async def _receives_own_events(ws, player, other) -> None:
    assert json.loads(await ws.receive_from(timeout=5)) == {"type": "hello", "user": player.id}
    await database_sync_to_async(user_event_on_commit)(other.id, {"type": "payout", "amount": 5})
    await database_sync_to_async(user_event_on_commit)(player.id, {"type": "bet_confirmed", "bet": {"id": 9}})
    event = json.loads(await ws.receive_from(timeout=5))
    assert event["type"] == "bet_confirmed" and event["bet"] == {"id": 9} and event["user"] == player.id
    assert await ws.receive_nothing(timeout=0.2)
    await ws.disconnect()


def test_token_in_the_first_message(run_async, player, django_user_model):
    other = django_user_model.objects.create_user(username="other", password="x-long-password")
    token = str(AccessToken.for_user(player))

    async def scenario():
        ws = connect("/ws/me/")
        assert (await ws.connect())[0]
        await ws.send_to(text_data=json.dumps({"type": "auth", "token": token}))
        await _receives_own_events(ws, player, other)

    run_async(scenario)


def test_bearer_header_and_single_use_ticket(run_async, player, django_user_model):
    other = django_user_model.objects.create_user(username="other", password="x-long-password")
    token = str(AccessToken.for_user(player))
    ticket = ws_ticket_issue(user_id=player.id)

    async def scenario():
        ws = connect("/ws/me/", headers=[(b"authorization", f"Bearer {token}".encode())])
        assert (await ws.connect())[0]
        await _receives_own_events(ws, player, other)
        ws = connect(f"/ws/me/?ticket={ticket}")
        assert (await ws.connect())[0]
        await _receives_own_events(ws, player, other)
        again = connect(f"/ws/me/?ticket={ticket}")  # spent
        assert (await again.connect())[0]
        await again.send_to(text_data='{"type":"ping"}')
        assert await _closed_with(again, 4401)

    run_async(scenario)


def test_a_revoked_token_is_refused(run_async, player):
    token = str(AccessToken.for_user(player))
    tokens_revoke_user(user_id=player.id)

    async def scenario():
        ws = connect("/ws/me/", headers=[(b"authorization", f"Bearer {token}".encode())])
        assert (await ws.connect())[0]
        await ws.send_to(text_data=json.dumps({"type": "auth", "token": token}))
        assert await _closed_with(ws, 4401)

    run_async(scenario)


def test_session_cookie_authenticates_a_browser(run_async, player):
    client = Client()
    client.force_login(player)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    async def scenario():
        ws = connect("/ws/me/", headers=[(b"cookie", cookie)])
        assert (await ws.connect())[0]
        assert json.loads(await ws.receive_from(timeout=5)) == {"type": "hello", "user": player.id}
        await ws.disconnect()

    run_async(scenario)
