"""Market tasks: thin, take ids, safe to run twice (every state change is a conditional UPDATE)."""
from __future__ import annotations

from celery import shared_task


@shared_task(name="markets.resolve", ignore_result=True, time_limit=300, soft_time_limit=240,
             autoretry_for=(Exception,), retry_backoff=2, retry_backoff_max=60, max_retries=5)
def market_resolve_task(market_id: int) -> None:
    """Close a due market and resolve it from market data (enqueued when it closes)."""
    from apps.markets.resolution import market_resolve_auto

    market_resolve_auto(market_id=market_id)


@shared_task(name="markets.sweep", ignore_result=True, time_limit=120, soft_time_limit=100)
def markets_sweep_task() -> None:
    from apps.markets.resolution import markets_sweep

    markets_sweep()


@shared_task(name="markets.generate", ignore_result=True, time_limit=120, soft_time_limit=100)
def markets_generate_task() -> None:
    from apps.markets.generation import markets_generate

    markets_generate()
