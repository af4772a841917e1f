"""The executor's 30 s trigger-index re-sync reads the orders changed since its last run through an
index on updated_at, not a scan of every order ever placed (migration trading/0002)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core.redis import get_redis
from apps.trading import index
from apps.trading.models import Order

pytestmark = pytest.mark.django_db


def test_index_sync_reads_recent_orders_through_the_updated_at_index(trader):
    with connection.cursor() as cursor:  # a season of finished orders, long since updated
        cursor.execute("""
            INSERT INTO trading_order (user_id, symbol, side, type, time_in_force, status, source, quantity,
                                       reason, created_at, updated_at, closed_at)
            SELECT %s, 'TRDA', 'buy', 'market', 'day', 'filled', 'player', 1, '',
                   now() - interval '30 days' + g * interval '1 second', now() - interval '30 days' + g * interval '1 second',
                   now() - interval '30 days' + g * interval '1 second'
            FROM generate_series(1, 50000) g""", [trader.pk])
        cursor.execute("ANALYZE trading_order")
    recent = Order.objects.create(user=trader, symbol="TRDA", side="buy", type="limit", quantity=1,
                                  limit_price=90, status="open")
    with CaptureQueriesContext(connection) as queries:
        assert index.index_sync(get_redis(), since=timezone.now() - timedelta(seconds=30), maintenance_pct=25) == 1
    (sql,) = [q["sql"] for q in queries.captured_queries if 'FROM "trading_order"' in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "trading_order_updated" in plan and "Seq Scan on trading_order" not in plan, plan
    assert Order.objects.filter(updated_at__gte=recent.updated_at).count() == 1
