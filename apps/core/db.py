"""A database cursor that runs its statements as server-side prepared statements.

Django's PostgreSQL backend binds parameters on the client and never prepares (so that
connection poolers in transaction mode keep working), so PostgreSQL parses and plans every
statement afresh. For the one statement on the hottest write path — a bet, a multi-step CTE
whose planning costs more than its execution — ``prepared_cursor()`` binds on the server and
prepares: the plan is made once per database connection and reused. Connections here are
direct or in psycopg's own pool (both keep one session per connection), never behind a
transaction-mode pooler, which would break prepared statements.

The cursor is wrapped like any Django cursor: errors become django.db errors, atomic blocks
see failures, and queries are counted and logged as usual.
"""
from __future__ import annotations

from django.db import connection
from django.db.backends.postgresql.base import ServerBindingCursor


class PreparedCursor(ServerBindingCursor):
    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


def prepared_cursor():
    """A cursor of the default connection whose every statement is prepared on the server."""
    connection.ensure_connection()
    return connection._prepare_cursor(PreparedCursor(connection.connection))
