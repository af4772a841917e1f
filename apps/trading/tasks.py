"""Trading tasks (beat): day orders expire at the close; portfolios are snapshotted after it."""
from celery import shared_task

from apps.trading.resting import day_orders_expire
from apps.trading.snapshots import portfolios_snapshot


@shared_task(name="trading.expire_day_orders", ignore_result=True, time_limit=120, soft_time_limit=100)
def expire_day_orders_task() -> int:
    return day_orders_expire()


@shared_task(name="trading.snapshot_portfolios", ignore_result=True, time_limit=600, soft_time_limit=540)
def snapshot_portfolios_task() -> int:
    return portfolios_snapshot()
