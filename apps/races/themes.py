"""Themes pick a race's stocks: a sector, tech only, yesterday's top gainers, or custom picks.

A theme is stored on the race as a short code: ``sector:<Sector>``, ``tech``, ``top_gainers``
or ``custom``. Only stocks the market-data feed carries (a live quote in Redis) are raced: a
race needs an opening price at its start, or it is cancelled and refunded.
"""
from __future__ import annotations

import random

from apps.market.models import Stock

# A quote received this long ago still counts as the feed carrying the stock: a real provider
# is silent over a long weekend, and the full-day races for Monday's session are made on Saturday.
QUOTE_MAX_AGE_SECONDS = 4 * 24 * 3600
MIN_POOL = 3

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
        sector = theme[len(SECTOR_PREFIX):]
        return bool(sector) and Stock.objects.filter(sector=sector, is_active=True).exists()
    return theme in (THEME_TECH, THEME_TOP_GAINERS, THEME_CUSTOM)


def quoted_symbols(symbols) -> set[str]:
    """The symbols among ``symbols`` the feed carries: a quote in Redis received within
    QUOTE_MAX_AGE_SECONDS of Redis' clock (one round trip)."""
    from apps.core.redis import get_redis
    from apps.market.quotes import read_quotes_at

    symbols = list(symbols)
    if not symbols:
        return set()
    quotes, now = read_quotes_at(get_redis(), symbols)
    return {s for s, q in quotes.items() if q.price > 0 and now - q.recv <= QUOTE_MAX_AGE_SECONDS}


def unquoted_symbols(symbols) -> list[str]:
    """The symbols among ``symbols`` the feed does not carry, sorted: a race with one of them
    would be cancelled at its start for want of an opening price."""
    symbols = list(symbols)
    quoted = quoted_symbols(symbols)
    return sorted(s for s in symbols if s not in quoted)


def no_feed_message(symbols: list[str]) -> str:
    """Why stocks without a live quote cannot race, in words a staff member understands."""
    names = ", ".join(symbols)
    verb = "has" if len(symbols) == 1 else "have"
    return (f"{names} {verb} no live quote: the market-data feed does not carry "
            f"{'it' if len(symbols) == 1 else 'them'}, so the race would be cancelled at its start "
            f"for want of an opening price.")


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


def _raceable(symbols) -> list[str]:
    """The active stocks among ``symbols`` that have a live quote, sorted."""
    return sorted(quoted_symbols(symbols))


def theme_symbols(*, theme: str, count: int, rng: random.Random, picks: list[str] | None = None) -> list[str]:
    """The stocks a theme selects, ``count`` of them (fewer only if the theme has fewer), among
    the stocks with a live quote only."""
    active = Stock.objects.filter(is_active=True)
    if theme == THEME_CUSTOM:
        if not picks:
            raise ThemeError("Custom races need their stocks picked.")
        missing = unquoted_symbols(picks)
        if missing:
            raise ThemeError(no_feed_message(missing))
        return list(picks)
    if theme == THEME_TECH:
        pool = _raceable(active.filter(sector__in=TECH_SECTORS).values_list("symbol", flat=True))
    elif theme.startswith(SECTOR_PREFIX) and theme[len(SECTOR_PREFIX):]:
        pool = _raceable(active.filter(sector=theme[len(SECTOR_PREFIX):]).values_list("symbol", flat=True))
    elif theme == THEME_TOP_GAINERS:
        changes = _daily_changes()
        quoted = quoted_symbols(changes)
        ranked = sorted((s for s in changes if s in quoted), key=lambda s: (-changes[s], s))
        if len(ranked) < count:
            raise ThemeError("Too few stocks with a live quote have a known daily change to race the top gainers.")
        return ranked[:count]
    else:
        raise ThemeError(f"Unknown theme {theme!r}.")
    if len(pool) < MIN_POOL:
        raise ThemeError(f"The theme {theme_label(theme)!r} has fewer than {MIN_POOL} active stocks with a live quote.")
    return rng.sample(pool, min(count, len(pool)))


def raceable_symbols() -> list[str]:
    """Every active stock with a live quote, sorted (custom picks of the lobby generator)."""
    return _raceable(Stock.objects.filter(is_active=True).values_list("symbol", flat=True))


def sectors() -> list[str]:
    """Sectors of the active stocks, never the empty one (imported symbols have no sector)."""
    return list(Stock.objects.filter(is_active=True).exclude(sector="").values_list("sector", flat=True)
                .distinct().order_by("sector"))
