"""The market generator (beat, every MARKET_GENERATE_SECONDS): markets on the lobby's races.

It reads the upcoming races (scheduled or open) and opens, once each (a unique
``generation_key``):

- for every marquee race (an hour race or a full-day marathon): "Which stock wins …?", an LMSR
  market with one outcome per stock (b = MARKET_GENERATED_LMSR_B), resolved by the race's winner;
- for every marathon (one per trading day): "Will SYM close above P today?" for
  MARKET_DAILY_SYMBOLS of its stocks (P the last price, CPMM at 50 %), and "Will SYM gain more
  than 1 % today?" for the first of them (CPMM at 25 %), resolved by the closing prices the race
  locks.

Trading closes when the race starts. The races app knows nothing of this: the generator only
reads races.
"""
from __future__ import annotations

import logging
import random
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction

from apps.core.redis import get_redis, redis_now
from apps.market.quotes import read_quotes
from apps.markets.errors import MarketRefused
from apps.markets.models import Market
from apps.markets.services import market_create
from apps.races.models import Race, RaceEntry

log = logging.getLogger(__name__)
MARQUEE = (Race.Duration.HOUR_1H, Race.Duration.DAY)
DAILY_GAIN_PCT = Decimal("1")


def _create(key: str, **fields) -> Market | None:
    if Market.objects.filter(generation_key=key).exists():
        return None
    try:
        with transaction.atomic():
            return market_create(generation_key=key, is_generated=True, **fields)
    except IntegrityError:
        return None  # another generator made it first
    except MarketRefused as exc:
        log.info("market %s not generated: %s", key, exc.detail)
        return None


def _race_winner(race: Race) -> Market | None:
    return _create(f"race-winner:{race.pk}", question=f"Which stock wins {race.title}?"[:200], kind="multi",
                   mechanism="lmsr", b=settings.MARKET_GENERATED_LMSR_B, closes_at=race.starts_at,
                   resolves_by={"type": "race_winner", "race": race.pk})


def _daily(race: Race) -> list[Market]:
    entries = list(RaceEntry.objects.filter(race=race).select_related("stock").order_by("lane"))
    rng = random.Random(race.pk)
    chosen = rng.sample(entries, min(settings.MARKET_DAILY_SYMBOLS, len(entries)))
    quotes = read_quotes(get_redis(), [e.stock.symbol for e in chosen])
    day = race.starts_at.strftime("%a %d %b")
    made = []
    for i, entry in enumerate(chosen):
        symbol = entry.stock.symbol
        quote = quotes.get(symbol)
        last = Decimal(str(quote.price)) if quote is not None else entry.stock.reference_price
        if last is None or last <= 0:
            continue
        level = last.quantize(Decimal("0.01"))
        made.append(_create(f"daily-close:{race.pk}:{symbol}", question=f"Will {symbol} close above {level} on {day}?",
                            kind="binary", mechanism="cpmm", liquidity=settings.MARKET_GENERATED_LIQUIDITY,
                            initial_probability=Decimal("0.5"), closes_at=race.starts_at,
                            resolves_by={"type": "race_close", "race": race.pk, "symbol": symbol, "above": str(level)}))
        if i == 0:
            made.append(_create(f"daily-gain:{race.pk}:{symbol}",
                                question=f"Will {symbol} gain more than {DAILY_GAIN_PCT} % on {day}?", kind="binary",
                                mechanism="cpmm", liquidity=settings.MARKET_GENERATED_LIQUIDITY,
                                initial_probability=Decimal("0.25"), closes_at=race.starts_at,
                                resolves_by={"type": "race_pct", "race": race.pk, "symbol": symbol,
                                             "above": str(DAILY_GAIN_PCT)}))
    return [m for m in made if m is not None]


def markets_generate(*, now=None) -> list[Market]:
    """Open the missing markets of the upcoming races; returns those made now."""
    now = now or redis_now()
    races = Race.objects.filter(state__in=[Race.State.SCHEDULED, Race.State.OPEN], starts_at__gt=now,
                                duration__in=MARQUEE).order_by("starts_at")
    made = []
    for race in races:
        market = _race_winner(race)
        if market is not None:
            made.append(market)
        if race.duration == Race.Duration.DAY:
            made.extend(_daily(race))
    if made:
        log.info("markets generated: %s", ", ".join(m.question for m in made))
    return made
