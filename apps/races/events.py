"""Race events for the live rooms, published only after the transaction commits.

The live app's ``apps.live.events.race_event_on_commit`` is used when it exists; until then
the event goes straight to the channel-layer group ``race.{id}`` after commit.
"""
from __future__ import annotations

import logging

from django.db import transaction

log = logging.getLogger(__name__)


def race_event_on_commit(race_id: int, event_type: str, payload: dict | None = None) -> None:
    try:
        from apps.live.events import race_event_on_commit as live_event_on_commit
    except ImportError:
        live_event_on_commit = None
    if live_event_on_commit is not None:
        live_event_on_commit(race_id, event_type, payload or {})
        return
    transaction.on_commit(lambda: _group_send(race_id, event_type, payload or {}))


def _group_send(race_id: int, event_type: str, payload: dict) -> None:
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(f"race.{race_id}", {"type": "race.event", "event": event_type,
                                                            "race_id": race_id, "payload": payload})
    except Exception:  # a broadcast must never undo or fail a committed transition
        log.exception("race %s: could not publish %s", race_id, event_type)
