"""Small formatting helpers for the player pages."""
from __future__ import annotations

from decimal import Decimal

from django import template

from apps.races import themes

register = template.Library()


@register.filter
def theme_label(theme: str) -> str:
    """The races app's name for a theme; a sector theme reads 'Energy sector'."""
    if not theme:
        return ""
    label = themes.theme_label(theme)
    if not label:
        return ""
    return f"{label} sector" if theme.startswith(themes.SECTOR_PREFIX) else label


@register.filter
def signed_pct(value, digits: int = 2) -> str:
    """+1.23% / -0.40% / 0.00%; empty for None."""
    if value is None or value == "":
        return ""
    number = float(value)
    return f"{number:+.{int(digits)}f}%" if number else f"{0:.{int(digits)}f}%"


@register.filter
def updown(value) -> str:
    """A CSS class for the sign of a number."""
    if value is None or value == "":
        return ""
    number = float(value)
    return "up" if number > 0 else "down" if number < 0 else "flat"


@register.filter
def bigmoney(value) -> str:
    """Market caps: $3.40T, $230.0B, $950.0M."""
    if value in (None, ""):
        return "—"
    number = float(value)
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if abs(number) >= size:
            return f"${number / size:.2f}{suffix}"
    return f"${number:,.0f}"


@register.filter
def bignum(value) -> str:
    """Volumes: 55.0M, 950.2K."""
    if value in (None, ""):
        return "—"
    number = float(value)
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(number) >= size:
            return f"{number / size:.1f}{suffix}"
    return f"{number:,.0f}"


@register.filter
def price(value) -> str:
    if value in (None, ""):
        return "—"
    return f"{float(Decimal(str(value))):,.2f}"


@register.filter
def points(value) -> str:
    if value in (None, ""):
        return "0"
    return f"{int(value):,}"


@register.filter
def clock(value) -> str:
    """Time left until an aware datetime, as the countdown script writes it (4:05, 1h 02m, 2d 3h),
    so the page does not switch between two formats when the script takes over; empty once due."""
    if not value:
        return ""
    from django.utils import timezone

    seconds = int((value - timezone.now()).total_seconds())
    if seconds <= 0:
        return ""
    days, hours, minutes, secs = seconds // 86400, seconds % 86400 // 3600, seconds % 3600 // 60, seconds % 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}:{secs:02d}"


@register.filter
def iso(value) -> str:
    """An aware datetime as ISO 8601 for data attributes read by the countdown script."""
    return value.isoformat() if value else ""


@register.simple_tag
def server_now_ms() -> int:
    """Redis server time in ms: countdowns in the browser correct the visitor's clock by it."""
    from apps.core.redis import redis_now_ts

    return int(redis_now_ts() * 1000)


@register.filter
def balance_of(user) -> int | None:
    """The player's points balance for the top bar (one query)."""
    if not getattr(user, "is_authenticated", False):
        return None
    from apps.web.selectors.players import player_balance

    return player_balance(user=user)


@register.simple_tag
def bet_key() -> str:
    """A fresh Idempotency-Key per rendered bet form: a double submit places one bet."""
    import uuid

    return f"web-{uuid.uuid4().hex}"


# Badges with their own icon under static/icons/badges/ (the catalog's emoji need an emoji font,
# which many systems lack); any other code gets the plain star.
BADGE_ICONS = frozenset({"first_bet", "first_win", "hat_trick", "on_fire", "underdog", "sharpshooter",
                         "photo_finish", "top_of_field", "marathon", "regular", "veteran", "jackpot"})


@register.filter
def badge_icon(code: str) -> str:
    """The static path of a badge's SVG icon."""
    return f"icons/badges/{code if code in BADGE_ICONS else 'default'}.svg"


@register.filter
def in_list(value, words: str) -> bool:
    """``state|in_list:"calculating completed"``."""
    return value in words.split()


@register.filter
def split(value: str) -> list[str]:
    return value.split()


@register.filter
def get(mapping: dict, key):
    return mapping.get(key, "") if hasattr(mapping, "get") else ""
