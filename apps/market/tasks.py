"""Celery tasks of the market app: thin wrappers around services, safe to run twice."""
from __future__ import annotations

from celery import shared_task

from apps.providers.base import ProviderError


@shared_task(name="market.sync_symbols", bind=True, ignore_result=True, time_limit=900, soft_time_limit=840,
             autoretry_for=(ProviderError,), retry_backoff=60, retry_jitter=True, max_retries=3)
def sync_symbols(self, full: bool = False) -> str:
    """Beat runs a full sync before the US open and an incremental one every hour."""
    from apps.providers import get_provider
    from apps.market.symbol_sync import symbols_sync

    return symbols_sync(provider=get_provider(), full=full).summary()
