"""Race events, published only after the transaction commits: to the race room for every
viewer, and to each real player's personal channel (/ws/me/) for the toasts."""
from __future__ import annotations

import logging

from django.db import transaction

from apps.core.events import race_event_on_commit as _room_event_on_commit
from apps.core.events import user_event_publish_later

log = logging.getLogger(__name__)


def race_event_on_commit(race_id: int, event_type: str, payload: dict | None = None) -> None:
    _room_event_on_commit(race_id, event_type, payload or {})


def players_notify_on_commit(*, race_id: int, event_type: str) -> None:
    """After commit, tell each player who bet on the race (the house excepted): ``race_started``,
    or ``race_settled`` with the points the race paid them. Read from their bets, not from the
    standings: a shadow-restricted player is left out of those, yet sees their race as anyone does."""
    transaction.on_commit(lambda: _notify_players(race_id, event_type))


def _notify_players(race_id: int, event_type: str) -> None:
    from django.db.models import Sum

    from apps.bets.models import Bet
    from apps.races.models import Race

    title = Race.objects.filter(pk=race_id).values_list("title", flat=True).first() or "Your race"
    # order_by(): Bet's default ordering (-id) would make the grouping one row per bet, not per player.
    bettors = Bet.objects.filter(race_id=race_id, user__is_house=False).order_by()
    if event_type == "race_settled":
        rows = bettors.values("user_id").annotate(paid=Sum("payout")).values_list("user_id", "paid")
    else:
        rows = ((user_id, None) for user_id in bettors.values_list("user_id", flat=True).distinct())
    for user_id, payout in rows:
        payload = {"type": event_type, "race_id": race_id, "title": title}
        if payout is not None:
            payload["payout"] = int(payout)
        try:
            user_event_publish_later(user_id=user_id, payload=payload)  # pipelined in the background
        except Exception:  # the race is committed; a lost toast must not fail the task
            log.exception("race %s: could not notify player %s of %s", race_id, user_id, event_type)
