"""Live P&L over /ws/me/, only to players who have the portfolio open, at most once a second.

Presence is a Redis sorted set, ``trd:viewers`` (member: user id, score: the Redis time the
presence lasts until), renewed by the portfolio page every 15 s (POST /api/v1/portfolio/watch/,
TTL 30 s): a closed tab stops costing anything within half a minute, and nothing of apps/live
needs to know. Once a second the pusher values every present player's portfolio in one SQL
statement and one Redis round trip (selectors.portfolios_value) and sends each a ``portfolio``
event through the process's background publisher, skipping players whose numbers did not change.
"""
from __future__ import annotations

import hashlib
import logging
import threading

import orjson
from django.conf import settings
from django.db import connection

from apps.core.events import user_event_on_commit
from apps.trading.selectors import portfolio_representation, portfolios_value
from apps.trading.services import VIEWERS_KEY

log = logging.getLogger("stockrace.trading")
MAX_VIEWERS_PER_ROUND = 5000


def present_viewers(client) -> list[int]:
    seconds, micros = client.time()
    now = seconds + micros / 1e6
    pipe = client.pipeline(transaction=False)
    pipe.zremrangebyscore(VIEWERS_KEY, "-inf", now)
    pipe.zrangebyscore(VIEWERS_KEY, now, "+inf", start=0, num=MAX_VIEWERS_PER_ROUND)
    _, members = pipe.execute()
    return [int(m) for m in members]


def _digest(body: dict) -> bytes:
    stable = {**body, "as_of": None, "positions": [{**p, "quote_age": None} for p in body["positions"]]}
    return hashlib.blake2b(orjson.dumps(stable), digest_size=12).digest()


class PortfolioPusher:
    def __init__(self, client):
        self.client = client
        self.sent: dict[int, bytes] = {}
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.rounds = 0

    def start(self) -> None:
        self.thread = threading.Thread(target=self.run, name="trading-pusher", daemon=True)
        self.thread.start()

    def run(self) -> None:
        period = settings.TRADE_PORTFOLIO_PUSH_SECONDS
        while not self.stopping.wait(period):
            try:
                self.push_once()
            except Exception:  # noqa: BLE001 - best effort, like every live event
                log.exception("trading: portfolio push failed")
                try:
                    connection.close()
                except Exception:  # noqa: BLE001
                    pass

    def push_once(self) -> int:
        """Push to every present viewer whose portfolio changed; returns how many got one."""
        viewers = present_viewers(self.client)
        self.rounds += 1
        if not viewers:
            self.sent.clear()
            return 0
        values = portfolios_value(viewers, client=self.client)
        pushed = 0
        present = set(viewers)
        for user_id in list(self.sent):
            if user_id not in present:
                del self.sent[user_id]
        for user_id, value in values.items():
            body = portfolio_representation(value)
            digest = _digest(body)
            if self.sent.get(user_id) == digest:
                continue
            self.sent[user_id] = digest
            user_event_on_commit(user_id, {"type": "portfolio", "portfolio": body}, background=True)
            pushed += 1
        return pushed
