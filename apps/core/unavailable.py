"""Redis or PostgreSQL out of reach for a moment: answered 503 with Retry-After, not 500.

A Redis restart takes a few seconds, a database failover a few more; requests that arrive in
between cannot be served, and saying so (503, ``Retry-After``) tells clients and proxies to try
again, where a 500 says the server is broken. ``is_unavailable`` is the one test of what counts:

- redis-py's ``ConnectionError`` (refused, reset, loading, a closed socket) and ``TimeoutError``;
- a Celery publish that gave up on its broker (kombu's ``OperationalError``);
- psycopg's ``OperationalError`` for a connection that failed or was lost (no SQLSTATE, class 08
  "connection exception", or 57P "the server is shutting down / starting up") — Django wraps it
  in its own OperationalError, whose cause is looked at. A statement timeout, a deadlock or a
  lock timeout is not an outage and stays a 500.

Where it is applied: the API's exception handler (apps/core/api.py), Django's 500 handler for
pages and middleware (apps/core/views.py: ``server_error``, with templates/503.html), the lean
POST routes (apps/core/lean.py, through the API's handler) and the WebSocket consumers
(apps/core/ws.py ``LeavesOnError``: the socket is closed with 4503).
"""
from __future__ import annotations

RETRY_AFTER_SECONDS = 5  # about a Redis restart; clients back off from there
CODE = "unavailable"
MESSAGE = "The service is unavailable for a moment (a restart or failover); try again in a few seconds."


def _outage_types() -> tuple[type[BaseException], ...]:
    import redis
    from kombu.exceptions import OperationalError as BrokerUnavailable  # kombu comes with Celery

    return (redis.ConnectionError, redis.TimeoutError, BrokerUnavailable)


def _database_lost(exc: BaseException) -> bool:
    import psycopg

    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = getattr(exc, "sqlstate", None)
    return state is None or state.startswith("08") or state.startswith("57P")


def is_unavailable(exc: BaseException | None) -> bool:
    """True when ``exc`` (or what caused it) says Redis, the broker or the database is out of reach."""
    outage = _outage_types()
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, outage) or _database_lost(exc):
            return True
        exc, seen = exc.__cause__, seen + 1  # raised "from" it (Django's wrapper), not merely during it
    return False


def retry_after_header() -> tuple[str, str]:
    return "Retry-After", str(RETRY_AFTER_SECONDS)
