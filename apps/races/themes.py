"""Themes pick a race's stocks: a sector, tech only, yesterday's top gainers, or custom picks.

A theme is stored on the race as a short code: ``sector:<Sector>``, ``tech``, ``top_gainers``
or ``custom``.
"""
from __future__ import annotations

import random

from apps.market.models import Stock

TECH_SECTORS = ("Technology", "Communication Services")
THEME_TECH = "tech"
THEME_TOP_GAINERS = "top_gainers"
THEME_CUSTOM = "custom"
SECTOR_PREFIX = "sector:"


class ThemeError(ValueError):
    pass


def theme_label(theme: str) -> str:
    if theme.startswith(SECTOR_PREFIX):
        return theme[len(SECTOR_PREFIX):]
    return {THEME_TECH: "Tech only", THEME_TOP_GAINERS: "Top gainers yesterday", THEME_CUSTOM: "Custom picks"}.get(
        theme, theme or "Mixed")


def theme_is_known(theme: str) -> bool:
    if theme.startswith(SECTOR_PREFIX):
        return Stock.objects.filter(sector=theme[len(SECTOR_PREFIX):], is_active=True).exists()
    return theme in (THEME_TECH, THEME_TOP_GAINERS, THEME_CUSTOM)


def _daily_changes() -> dict[str, float]:
    """Yesterday's % change per symbol: the last completed daily candle against the one before.

    Without daily candles (a fresh install), the latest live quote against the stock's last
    known close (Stock.reference_price) stands in.
    """
    changes = _changes_from_daily_candles()
    return changes or _changes_from_quotes()


def _changes_from_daily_candles() -> dict[str, float]:
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from django.apps import apps
    from django.conf import settings

    from apps.core.redis import redis_now

    try:
        Candle = apps.get_model("market", "Candle")
    except LookupError:
        return {}
    tz = ZoneInfo(settings.MARKET_TIME_ZONE)
    today = datetime.combine(redis_now().astimezone(tz).date(), time(0), tzinfo=tz)  # today's candle is not done
    closes: dict[str, list[float]] = {}
    rows = (Candle.objects.filter(interval="1d", stock__is_active=True, start__gte=today - timedelta(days=10),
                                  start__lt=today)
            .order_by("start").values_list("stock__symbol", "close"))
    for symbol, close in rows:
        closes.setdefault(symbol, []).append(close)
    return {s: (c[-1] - c[-2]) / c[-2] * 100 for s, c in closes.items() if len(c) >= 2 and c[-2] > 0}


def _changes_from_quotes() -> dict[str, float]:
    from apps.core.redis import get_redis
    from apps.market.quotes import read_quotes

    refs = dict(Stock.objects.filter(is_active=True, reference_price__gt=0).values_list("symbol", "reference_price"))
    quotes = read_quotes(get_redis(), list(refs))
    return {s: (q.price - float(refs[s])) / float(refs[s]) * 100 for s, q in quotes.items()}


def theme_symbols(*, theme: str, count: int, rng: random.Random, picks: list[str] | None = None) -> list[str]:
    """The stocks a theme selects, ``count`` of them (fewer only if the theme has fewer)."""
    active = Stock.objects.filter(is_active=True)
    if theme == THEME_CUSTOM:
        if not picks:
            raise ThemeError("Custom races need their stocks picked.")
        return list(picks)
    if theme == THEME_TECH:
        pool = list(active.filter(sector__in=TECH_SECTORS).values_list("symbol", flat=True))
    elif theme.startswith(SECTOR_PREFIX):
        pool = list(active.filter(sector=theme[len(SECTOR_PREFIX):]).values_list("symbol", flat=True))
    elif theme == THEME_TOP_GAINERS:
        changes = _daily_changes()
        ranked = sorted(changes, key=lambda s: (-changes[s], s))
        if len(ranked) < count:
            raise ThemeError("No daily changes are known yet, so there are no top gainers to race.")
        return ranked[:count]
    else:
        raise ThemeError(f"Unknown theme {theme!r}.")
    if len(pool) < 3:
        raise ThemeError(f"The theme {theme_label(theme)!r} has fewer than 3 active stocks.")
    pool.sort()
    return rng.sample(pool, min(count, len(pool)))


def sectors() -> list[str]:
    return list(Stock.objects.filter(is_active=True).values_list("sector", flat=True).distinct().order_by("sector"))
