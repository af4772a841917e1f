"""The lobby generator: keeps RACE_LOBBY_TARGET upcoming races.

With the simulator it runs the lobby around the clock; with a real provider every race fits
inside a regular New York session (its stocks trade only then), so overnight the lobby fills with
the next session's races.

A mix of 5-minute sprints, 15-minute dashes, hour races and full-day marathons (one per
regular New York session), each with a theme that picks its stocks. Generated races get house
bettors when their betting window opens.
"""
from __future__ import annotations

import logging
import random
from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings

from apps.core.redis import get_redis, redis_now
from apps.races import calendar
from apps.races.models import Race
from apps.races.services import DURATIONS, RaceError, race_create_themed
from apps.races.themes import (SECTOR_PREFIX, THEME_CUSTOM, THEME_TECH, THEME_TOP_GAINERS, raceable_symbols,
                               sectors)

log = logging.getLogger(__name__)
LOCK_KEY = "races:generate:lock"
NAMES = {Race.Duration.SPRINT_5M: "Sprint", Race.Duration.QUARTER_15M: "Dash", Race.Duration.HOUR_1H: "Hour Race",
         Race.Duration.DAY: "Marathon"}
# Starts of generated short races are spaced so that a new one opens every couple of minutes.
SPACING = {Race.Duration.SPRINT_5M: timedelta(minutes=3), Race.Duration.QUARTER_15M: timedelta(minutes=7),
           Race.Duration.HOUR_1H: timedelta(minutes=20)}


def _plan(missing: int, upcoming: Counter) -> list[str]:
    """Durations to add: a marathon and an hour race when none is upcoming, then sprints and dashes."""
    plan = [d for d in (Race.Duration.DAY, Race.Duration.HOUR_1H, Race.Duration.QUARTER_15M) if not upcoming[d]]
    plan = plan[:missing]
    while len(plan) < missing:
        plan.append(Race.Duration.SPRINT_5M if (len(plan) + upcoming[Race.Duration.SPRINT_5M]) % 3 != 2
                    else Race.Duration.QUARTER_15M)
    return plan


def _themes(rng: random.Random) -> list[str]:
    options = [THEME_TECH, THEME_TOP_GAINERS, THEME_CUSTOM] + [f"{SECTOR_PREFIX}{s}" for s in sectors()]
    rng.shuffle(options)
    return options


def _custom_picks(rng: random.Random, count: int) -> list[str]:
    # Only stocks the feed carries: a race without an opening price is cancelled at its start.
    symbols = raceable_symbols()
    return rng.sample(symbols, min(count, len(symbols)))


def _start_for(duration: str, now: datetime, window: timedelta) -> datetime:
    if duration == Race.Duration.DAY:
        return now + window  # aligned to the next regular session by race_create
    last = (Race.objects.filter(duration=duration, state__in=[Race.State.SCHEDULED, Race.State.OPEN])
            .order_by("-starts_at").values_list("starts_at", flat=True).first())
    start = now + window
    if last is not None:
        start = max(start, last + SPACING[duration])
    if calendar.real_feed():
        # A real feed's stocks trade only in the regular session: the race must fit inside one.
        start = calendar.first_fit(start, DURATIONS[duration])
    return start.replace(microsecond=0)


def lobby_fill(*, now: datetime | None = None, rng: random.Random | None = None) -> list[Race]:
    """Create races until RACE_LOBBY_TARGET are upcoming (scheduled or open)."""
    client = get_redis()
    if not client.set(LOCK_KEY, "1", nx=True, ex=60):
        return []  # another generator is at work
    try:
        now = now or redis_now(client)
        rng = rng or random.Random()
        upcoming = Counter(Race.objects.filter(state__in=[Race.State.SCHEDULED, Race.State.OPEN])
                           .values_list("duration", flat=True))
        missing = settings.RACE_LOBBY_TARGET - sum(upcoming.values())
        if missing <= 0:
            return []
        window = timedelta(seconds=settings.RACE_BETTING_WINDOW_SECONDS)
        themes = _themes(rng)
        created = []
        for i, duration in enumerate(_plan(missing, upcoming)):
            count = rng.randint(3, 8) if duration != Race.Duration.SPRINT_5M else rng.randint(3, 6)
            for theme in themes[i % len(themes):] + themes[:i % len(themes)]:
                picks = _custom_picks(rng, count) if theme == THEME_CUSTOM else None
                try:
                    race = race_create_themed(
                        theme=theme, duration=duration, starts_at=_start_for(duration, now, window),
                        stock_count=count, picks=picks, betting_window=window, session_aligned=True,
                        is_generated=True, rng=rng,
                        title=f"{NAMES[duration]} · " + _theme_title(theme))
                except RaceError as exc:
                    log.info("lobby: theme %s skipped (%s)", theme, exc)
                    continue
                created.append(race)
                break
        return created
    finally:
        client.delete(LOCK_KEY)


def _theme_title(theme: str) -> str:
    from apps.races.themes import theme_label

    return theme_label(theme)
