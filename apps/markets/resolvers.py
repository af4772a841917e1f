"""How a market resolves itself from market data: the rule it was created with (``resolves_by``).

Rules:

- ``{"type": "manual"}`` — staff resolve it, with a reason;
- ``{"type": "race_winner", "race": 123}`` — a multi-outcome market on a race, one outcome per
  stock in lane order: the race's winner (its locked finishing order);
- ``{"type": "race_close", "race": 123, "symbol": "AAPL", "above": "230"}`` — YES when the race
  locked the stock's closing price above the threshold (the same closing price the race scores);
- ``{"type": "race_pct", "race": 123, "symbol": "AAPL", "above": "2"}`` — YES when the stock
  gained more than that many percent in the race (open to close, as the race locked them);
- ``{"type": "price", "symbol": "AAPL", "above": "230"}`` — YES when the price at the market's
  close is above the threshold;
- ``{"type": "pct_change", "symbol": "TSLA", "above": "2", "base_price": "250"}`` — YES when the
  price at the close is more than that many percent above ``base_price`` (the live price when the
  market was created, if not given).

Prices at a market's close are locked the way a race locks its closing prices: the live quote
when the market closes on time (within RACE_LATE_TOLERANCE_SECONDS), else the feed's price
snapshot at the closing instant; a stale quote flags the market for review, no price at all
leaves it closed for staff.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings

from apps.core.redis import get_redis
from apps.market.quotes import read_quotes
from apps.markets import errors
from apps.races.models import Race, RaceEntry

TYPES = ("manual", "race_winner", "race_close", "race_pct", "price", "pct_change")
RACE_TYPES = ("race_winner", "race_close", "race_pct")
BINARY_TYPES = ("race_close", "race_pct", "price", "pct_change")
RACE_DONE = (Race.State.CALCULATING, Race.State.COMPLETED)


@dataclass(frozen=True)
class Spec:
    """A validated rule: the JSON to store, and what it fixes about the market."""

    data: dict
    race: Race | None
    outcomes: list[str] | None  # fixed by the rule (a race's stocks), else None


@dataclass(frozen=True)
class Decision:
    outcome: int | None = None  # resolve to this outcome
    cancel: str = ""  # or cancel the market, for this reason
    review: str = ""  # or wait for staff, for this reason
    reason: str = ""  # why (the resolution's reason)


def _number(data: dict, key: str, *, positive: bool = False) -> Decimal:
    try:
        value = Decimal(str(data[key]))
    except (KeyError, InvalidOperation, ValueError):
        raise errors.invalid(f"resolves_by.{key} is a number.", field=f"resolves_by.{key}") from None
    if not value.is_finite() or (positive and value <= 0) or abs(value) > Decimal(10) ** 9:
        raise errors.invalid(f"resolves_by.{key} is a {'positive ' if positive else ''}number below 10^9.",
                             field=f"resolves_by.{key}")
    return value


def _race(data: dict) -> Race:
    race_id = data.get("race")
    if not isinstance(race_id, int) or isinstance(race_id, bool):
        raise errors.invalid("resolves_by.race is a race id.", field="resolves_by.race")
    race = Race.objects.filter(pk=race_id).first()
    if race is None:
        raise errors.invalid(f"There is no race {race_id}.", field="resolves_by.race")
    if race.state in (Race.State.COMPLETED, Race.State.CANCELLED, Race.State.CALCULATING):
        raise errors.invalid(f"Race {race_id} is {race.state}; a market needs a race still to be run.",
                             field="resolves_by.race")
    return race


def _symbol(data: dict, race: Race | None) -> str:
    from apps.market.models import Stock

    symbol = data.get("symbol")
    if not isinstance(symbol, str) or not symbol.strip():
        raise errors.invalid("resolves_by.symbol is a ticker symbol.", field="resolves_by.symbol")
    symbol = symbol.strip().upper()
    if race is not None:
        if not RaceEntry.objects.filter(race=race, stock__symbol=symbol).exists():
            raise errors.invalid(f"{symbol} is not in race {race.pk}.", field="resolves_by.symbol")
    elif not Stock.objects.filter(symbol=symbol, is_active=True).exists():
        raise errors.invalid(f"Unknown symbol {symbol}.", field="resolves_by.symbol")
    return symbol


def validate(data, *, kind: str) -> Spec:
    """Check a rule for a market of ``kind``; raises MarketRefused (400) naming the field."""
    if data in (None, {}):
        data = {"type": "manual"}
    if not isinstance(data, dict) or data.get("type") not in TYPES:
        raise errors.invalid(f"resolves_by.type is one of {', '.join(TYPES)}.", field="resolves_by.type")
    kind_needed = "multi" if data["type"] == "race_winner" else "binary" if data["type"] in BINARY_TYPES else kind
    if kind != kind_needed:
        raise errors.invalid(f"A {data['type']} rule resolves a {kind_needed} market, not a {kind} one.",
                             field="resolves_by.type")
    out: dict = {"type": data["type"]}
    race = None
    outcomes = None
    if data["type"] in RACE_TYPES:
        race = _race(data)
        out["race"] = race.pk
    if data["type"] == "race_winner":
        outcomes = list(RaceEntry.objects.filter(race=race).order_by("lane").values_list("stock__symbol", flat=True))
    elif data["type"] != "manual":
        out["symbol"] = _symbol(data, race)
        out["above"] = str(_number(data, "above", positive=data["type"] in ("race_close", "price")))
    if data["type"] == "pct_change":
        if data.get("base_price") is not None:
            out["base_price"] = str(_number(data, "base_price", positive=True))
        else:
            quote = read_quotes(get_redis(), [out["symbol"]]).get(out["symbol"])
            if quote is None:
                raise errors.invalid(f"There is no live price for {out['symbol']} to measure the change from; "
                                     "give resolves_by.base_price.", field="resolves_by.base_price")
            out["base_price"] = str(Decimal(str(quote.price)).quantize(Decimal("0.0001")))
    return Spec(data=out, race=race, outcomes=outcomes)


# --------------------------------------------------------------------------- deciding


def _race_decision(market, spec: dict) -> Decision:
    race = Race.objects.filter(pk=spec["race"]).only("state").first()
    if race is None or race.state == Race.State.CANCELLED:
        return Decision(cancel=f"race {spec['race']} was cancelled")
    if race.state not in RACE_DONE:
        return Decision()  # not run yet: wait
    entries = {e.stock.symbol: e for e in RaceEntry.objects.filter(race_id=race.pk).select_related("stock")}
    if spec["type"] == "race_winner":
        winner = next((s for s, e in entries.items() if e.final_position == 1), None)
        if winner is None or winner not in market.outcomes:
            return Decision(review=f"race {race.pk} has no winner to resolve by")
        return Decision(outcome=market.outcomes.index(winner), reason=f"{winner} won race {race.pk}")
    entry = entries.get(spec["symbol"])
    if entry is None or entry.close_price is None:
        return Decision(review=f"race {race.pk} locked no closing price for {spec['symbol']}")
    threshold = Decimal(spec["above"])
    if spec["type"] == "race_close":
        value, what = entry.close_price, f"closed at {entry.close_price}"
    else:
        value, what = entry.pct_change, f"changed {entry.pct_change} %"
    yes = value > threshold
    return Decision(outcome=0 if yes else 1,
                    reason=f"{spec['symbol']} {what} in race {race.pk} ({'above' if yes else 'not above'} {threshold})")


def closing_price(symbol: str, at: datetime, now: datetime) -> tuple[Decimal | None, str]:
    """(the price at ``at``, a review note) locked as race_finish locks a closing price."""
    late = (now - at).total_seconds()
    if late <= settings.RACE_LATE_TOLERANCE_SECONDS:
        quote = read_quotes(get_redis(), [symbol]).get(symbol)
        if quote is not None and quote.price > 0:
            stale = quote.recv and quote.recv < now.timestamp() - settings.MARKET_DATA_STALE_SECONDS
            return Decimal(str(quote.price)).quantize(Decimal("0.0001")), "the closing quote was stale" if stale else ""
    from apps.feed.models import PriceSnapshot

    row = (PriceSnapshot.objects.filter(symbol=symbol, ts__lte=at,
                                        ts__gte=at - timedelta(seconds=settings.RACE_LATE_TOLERANCE_SECONDS))
           .order_by("-ts").values_list("price", flat=True).first())
    return (row, "") if row else (None, f"no price for {symbol} at the close")


def _price_decision(market, spec: dict, now: datetime) -> Decision:
    price, note = closing_price(spec["symbol"], market.closes_at, now)
    if price is None:
        return Decision(review=note)
    threshold = Decimal(spec["above"])
    if spec["type"] == "price":
        yes, what = price > threshold, f"was at {price}"
    else:
        base = Decimal(spec["base_price"])
        change = ((price - base) / base * 100).quantize(Decimal("0.0001"))
        yes, what = change > threshold, f"changed {change} % (from {base} to {price})"
    reason = f"{spec['symbol']} {what} at the close ({'above' if yes else 'not above'} {threshold})"
    return Decision(outcome=0 if yes else 1, reason=reason, review=note)


def decide(market, now: datetime) -> Decision:
    """What the market's rule says now: an outcome, a cancellation, a wait for staff, or nothing yet."""
    spec = market.resolves_by or {"type": "manual"}
    if spec["type"] == "manual":
        return Decision()
    if spec["type"] in RACE_TYPES:
        return _race_decision(market, spec)
    return _price_decision(market, spec, now)
