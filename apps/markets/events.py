"""Market events to WebSocket viewers, after the transaction commits.

One pub/sub channel per market (apps.core.live_keys.MARKET_CHANNEL), published by
apps.core.events' ``channel_event_on_commit`` (one script call: Redis time spliced in, then PUBLISH;
a trade's events through the process's background publisher, the same script), so a market event
reads like a room event:

    {"type": "trade", "market": 7, "at": 1767225600.123456,
     "data": {"seq": 42, "probabilities": ["0.54", "0.46"], "volume": 1200, "trades": [...]}}

Types: ``opened``, ``trade`` (a trade with the stops it set off, or a liquidity add),
``closed``, ``resolved``, ``cancelled``. Stop owners also get a personal ``market_stop`` event
on /ws/me/, and paid players a ``market_payout``.
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction

from apps.core import live_keys as keys
from apps.core.events import (channel_event_on_commit, channel_event_publish, channel_event_publish_later,
                              user_event_on_commit, user_event_publish_later)
from apps.markets.amm.numeric import text
from apps.markets.state import module_of

log = logging.getLogger(__name__)
TRADES_IN_EVENT = 20  # a cascade's first trades; the page reloads its tape for the rest


def market_channel(market_id: int) -> str:
    return keys.MARKET_CHANNEL.format(prefix=settings.REDIS_PUBSUB_PREFIX, id=int(market_id))


def market_event_publish(*, market_id: int, event_type: str, payload: dict) -> str:
    """Publish one market event now (prefer ``market_event_on_commit``); returns the JSON."""
    return channel_event_publish(channel=market_channel(market_id), event_type=event_type,
                                 subject={"market": int(market_id)}, payload=payload)


def market_event_on_commit(market_id: int, event_type: str, payload: dict) -> None:
    channel_event_on_commit(channel=market_channel(market_id), event_type=event_type,
                            subject={"market": int(market_id)}, payload=payload)


def trade_summary(trade) -> dict:
    return {"seq": trade.seq, "kind": trade.kind, "outcome": trade.outcome, "shares": text(trade.shares),
            "prob_after": [text(p) for p in trade.prob_after], "stop": trade.stop_id is not None,
            "at": trade.created_at.isoformat()}


def trade_events_on_commit(book) -> None:
    """The market's new state with the trades one transaction wrote; the stop owners' news and the
    new balances of the players the fills moved. Built after the commit (not while the market's
    row is locked) and handed to the background publisher (apps.core.events): the trade's request
    pays no Redis round trip for them."""
    transaction.on_commit(lambda: _trade_events(book))


def _trade_events(book) -> None:
    try:
        market = book.market
        probabilities = [text(p) for p in module_of(market.mechanism).probabilities(book.state)]
        channel_event_publish_later(channel=market_channel(market.pk), event_type="trade", subject={"market": market.pk},
                                    payload={"seq": market.seq, "probabilities": probabilities, "volume": market.volume,
                                             "trades": [trade_summary(t) for t in book.trades[:TRADES_IN_EVENT]],
                                             "count": len(book.trades)})
        for stop_id, owner, state in book.stops_fired:
            user_event_publish_later(user_id=owner, payload={"type": "market_stop", "market": market.pk, "stop": stop_id,
                                                             "state": state, "question": market.question})
        for user_id, balance in book.balances.items():  # as apps.points.ledger.balances_push_on_commit sends it
            user_event_publish_later(user_id=user_id, payload={"type": "balance", "balance": balance})
    except Exception:  # noqa: BLE001 - after the commit: a lost event must not fail the trade
        log.exception("market %s: trade events not published", book.market.pk)
