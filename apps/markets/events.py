"""Market events to WebSocket viewers, after the transaction commits.

One pub/sub channel per market (apps.core.live_keys.MARKET_CHANNEL), published by
apps.core.events' ``channel_event_on_commit`` (one script call: Redis time spliced in, then PUBLISH),
so a market event reads like a room event:

    {"type": "trade", "market": 7, "at": 1767225600.123456,
     "data": {"seq": 42, "probabilities": ["0.54", "0.46"], "volume": 1200, "trades": [...]}}

Types: ``opened``, ``trade`` (a trade with the stops it set off, or a liquidity add),
``closed``, ``resolved``, ``cancelled``. Stop owners also get a personal ``market_stop`` event
on /ws/me/, and paid players a ``market_payout``.
"""
from __future__ import annotations

from django.conf import settings

from apps.core import live_keys as keys
from apps.core.events import channel_event_on_commit, channel_event_publish, user_event_on_commit
from apps.markets.amm.numeric import text
from apps.markets.state import module_of

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
    """The market's new state with the trades one transaction wrote; the stop owners' news."""
    market = book.market
    probabilities = [text(p) for p in module_of(market.mechanism).probabilities(book.state)]
    market_event_on_commit(market.pk, "trade", {
        "seq": market.seq, "probabilities": probabilities, "volume": market.volume,
        "trades": [trade_summary(t) for t in book.trades[:TRADES_IN_EVENT]], "count": len(book.trades)})
    for stop_id, owner, state in book.stops_fired:
        user_event_on_commit(owner, {"type": "market_stop", "market": market.pk, "stop": stop_id, "state": state,
                                     "question": market.question}, background=True)
