"""The race state machine: scheduled → open → running → calculating → completed, or cancelled.

Every transition is one conditional UPDATE that checks the current state (and that its time
has come), recorded in RaceTransition with its Redis time and cause, in one transaction.
Running a transition twice changes nothing the second time. Prices are read from Redis
before the transaction (slow I/O stays outside the locks) and written in it.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Case, CharField, F, Value, When
from django.db.models.functions import Concat, Left

from apps.bets.services import race_odds_publish
from apps.core.redis import get_redis, redis_now
from apps.feed.models import PriceSnapshot
from apps.feed.selectors import gaps_overlapping
from apps.market.quotes import read_quotes
from apps.races import events, opening, refunds, scheduling
from apps.races.models import Race, RaceEntry, RaceTransition

log = logging.getLogger(__name__)
S = Race.State
CANCELLABLE = (S.SCHEDULED, S.OPEN, S.RUNNING, S.CALCULATING)


def _record(race_id: int, from_state: str, to_state: str, at: datetime, cause: str) -> None:
    RaceTransition.objects.create(race_id=race_id, from_state=from_state, to_state=to_state, at=at,
                                  cause=cause[:200])


def _flag(race_id: int, reason: str) -> None:
    """Flag the race for staff review, adding the reason to any earlier one."""
    combined = Case(When(review_reason="", then=Value(reason)),
                    default=Concat(F("review_reason"), Value(f"; {reason}")), output_field=CharField())
    Race.objects.filter(pk=race_id).update(needs_review=True, review_reason=Left(combined, 300))


def _entry_symbols(race_id: int) -> dict[str, int]:
    """symbol -> RaceEntry id."""
    return dict(RaceEntry.objects.filter(race_id=race_id).values_list("stock__symbol", "id"))


def _locked_prices(race_id: int, now: datetime) -> tuple[dict[str, Decimal], list[str], list[str]]:
    """(prices, missing symbols, stale symbols) from the live quotes in Redis."""
    symbols = list(_entry_symbols(race_id))
    quotes = read_quotes(get_redis(), symbols)
    stale_before = now.timestamp() - settings.MARKET_DATA_STALE_SECONDS
    prices = {s: Decimal(str(q.price)).quantize(Decimal("0.0001")) for s, q in quotes.items() if q.price > 0}
    missing = sorted(set(symbols) - set(prices))
    stale = sorted(s for s, q in quotes.items() if q.recv and q.recv < stale_before)
    return prices, missing, stale


def race_open(*, race_id: int, now: datetime | None = None, cause: str = "betting window opened") -> bool:
    now = now or redis_now()
    with transaction.atomic():
        if Race.objects.filter(pk=race_id, state=S.SCHEDULED, betting_opens_at__lte=now).update(state=S.OPEN) != 1:
            return False
        _record(race_id, S.SCHEDULED, S.OPEN, now, cause)
        transaction.on_commit(lambda: _publish_odds(race_id))
        if Race.objects.filter(pk=race_id, is_generated=True).exists():
            from apps.races.house import house_plan_bets_on_commit

            house_plan_bets_on_commit(race_id)
        events.race_event_on_commit(race_id, "open", {"at": now.isoformat()})
    return True


def _publish_odds(race_id: int) -> None:
    """Winner odds are fixed once the betting window opens (the bets app computes them)."""
    try:
        race_odds_publish(race_id=race_id)
    except Exception:  # the odds are published again on the first read; the transition stands
        log.exception("race %s: could not publish odds", race_id)


def _opening_prices(race_id: int, starts_at: datetime, now: datetime) -> tuple[dict[str, Decimal], list[str],
                                                                               list[str], list[str]]:
    """(prices, missing, stale, opened early): each stock's first trade stamped at or after the start.

    A stock whose feed has not delivered one yet is waited for, up to RACE_OPEN_PRICE_WAIT_SECONDS
    after the start (apps.races.opening); one that still has none then opens at its latest earlier
    trade and is listed in ``opened early`` (the race is flagged for review).
    """
    symbols = list(_entry_symbols(race_id))
    client = get_redis()
    quotes = read_quotes(client, symbols)
    start_ts = starts_at.timestamp()
    prices = {s: q.price for s, q in quotes.items() if q.price > 0 and q.ts >= start_ts}
    pending = [s for s in symbols if s not in prices]
    wait = settings.RACE_OPEN_PRICE_WAIT_SECONDS
    if pending and wait > 0:
        remaining = start_ts + wait - now.timestamp()
        prices.update(opening.first_trades(client, pending, since=start_ts, timeout=min(wait, max(0.0, remaining))))
        quotes = read_quotes(client, symbols)  # fresh receive times for the staleness check
    early = sorted(s for s in symbols if s not in prices and s in quotes and quotes[s].price > 0) if wait > 0 else []
    for s in symbols:
        if s not in prices and s in quotes and quotes[s].price > 0:
            prices[s] = quotes[s].price  # its latest trade, before the start
    stale_before = now.timestamp() - settings.MARKET_DATA_STALE_SECONDS
    missing = sorted(set(symbols) - set(prices))
    stale = sorted(s for s, q in quotes.items() if q.recv and q.recv < stale_before and s in prices)
    return ({s: Decimal(str(p)).quantize(Decimal("0.0001")) for s, p in prices.items()}, missing, stale, early)


def race_start(*, race_id: int, now: datetime | None = None, cause: str = "start time reached") -> bool:
    """open → running with the opening prices locked; cancelled with refunds if a price is missing.

    The opening price of each stock is its first trade whose provider timestamp is at or after the
    start (``_opening_prices``); with a lagging feed this waits for it a little.
    """
    now = now or redis_now()
    race = Race.objects.filter(pk=race_id, state=S.OPEN, starts_at__lte=now).only("starts_at").first()
    if race is None:
        return False
    prices, missing, stale, early = _opening_prices(race_id, race.starts_at, now)
    if missing:
        race_cancel(race_id=race_id, cause=f"no opening price for {', '.join(missing)}", now=now,
                    from_states=(S.OPEN,))
        return False
    entries = _entry_symbols(race_id)
    with transaction.atomic():
        if Race.objects.filter(pk=race_id, state=S.OPEN, starts_at__lte=now).update(state=S.RUNNING) != 1:
            return False
        _record(race_id, S.OPEN, S.RUNNING, now, cause)
        for symbol, price in prices.items():  # at most 8 rows
            RaceEntry.objects.filter(pk=entries[symbol]).update(open_price=price)
        if stale:
            _flag(race_id, f"opening prices were stale for {', '.join(stale)}")
        if early:
            _flag(race_id, f"no trade at or after the start within {settings.RACE_OPEN_PRICE_WAIT_SECONDS:g} s "
                           f"for {', '.join(early)}: opened at the last earlier trade")
        race = Race.objects.get(pk=race_id)
        scheduling.schedule_upcoming_on_commit(race)
        events.race_event_on_commit(race_id, "started", {"at": now.isoformat(),
                                                         "open_prices": {s: str(p) for s, p in prices.items()}})
        events.players_notify_on_commit(race_id=race_id, event_type="race_started")
    return True


def race_finish(*, race_id: int, now: datetime | None = None, cause: str = "end time reached") -> bool:
    """running → calculating with the closing prices, % changes and final positions locked."""
    now = now or redis_now()
    race = Race.objects.filter(pk=race_id, state=S.RUNNING, ends_at__lte=now).first()
    if race is None:
        return False
    entries = list(RaceEntry.objects.filter(race_id=race_id).select_related("stock"))
    if any(e.open_price is None for e in entries):
        race_cancel(race_id=race_id, cause="no opening prices were locked", now=now, from_states=(S.RUNNING,))
        return False
    late = (now - race.ends_at).total_seconds()
    snapshot = _snapshot_prices([e.stock.symbol for e in entries], race.ends_at) \
        if late > settings.RACE_LATE_TOLERANCE_SECONDS else None
    if snapshot is not None:
        prices, missing, stale = snapshot, [], []
    else:
        prices, missing, stale = _locked_prices(race_id, now)
    if missing:
        race_cancel(race_id=race_id, cause=f"no closing price for {', '.join(missing)}", now=now,
                    from_states=(S.RUNNING,))
        return False
    pct = {}
    for entry in entries:
        close = prices[entry.stock.symbol]
        pct[entry.pk] = ((close - entry.open_price) / entry.open_price * 100).quantize(Decimal("0.0001"))
    order = sorted(entries, key=lambda e: (-pct[e.pk], e.lane))
    with transaction.atomic():
        if Race.objects.filter(pk=race_id, state=S.RUNNING, ends_at__lte=now).update(state=S.CALCULATING) != 1:
            return False
        _record(race_id, S.RUNNING, S.CALCULATING, now, cause)
        for position, entry in enumerate(order, start=1):
            RaceEntry.objects.filter(pk=entry.pk).update(close_price=prices[entry.stock.symbol], pct_change=pct[entry.pk],
                                                         final_position=position)
        reasons = []
        if snapshot is not None:
            reasons.append(f"finished {late:.0f} s late; closing prices from the price snapshots at the end")
        elif late > settings.RACE_LATE_TOLERANCE_SECONDS:
            reasons.append(f"closing prices taken {late:.0f} s after the end")
        if stale:
            reasons.append(f"closing prices were stale for {', '.join(stale)}")
        gap = _data_gap_reason(race)
        if gap:
            reasons.append(gap)
        if reasons:
            _flag(race_id, "; ".join(reasons))
        scheduling.enqueue_settlement_on_commit(race_id)
        events.race_event_on_commit(race_id, "finished", {
            "at": now.isoformat(),
            "results": [{"symbol": e.stock.symbol, "position": i, "pct_change": str(pct[e.pk])}
                        for i, e in enumerate(order, start=1)],
        })
    return True


def _snapshot_prices(symbols: list[str], at: datetime) -> dict[str, Decimal] | None:
    """Prices at instant ``at`` from the feed's per-second snapshots, if every symbol has one
    within the late tolerance before it; None otherwise."""
    since = at - timedelta(seconds=settings.RACE_LATE_TOLERANCE_SECONDS)
    rows = (PriceSnapshot.objects.filter(symbol__in=symbols, ts__gte=since, ts__lte=at)
            .order_by("symbol", "-ts").distinct("symbol").values_list("symbol", "price"))
    prices = {symbol: price for symbol, price in rows if price and price > 0}
    return prices if len(prices) == len(symbols) else None


def _data_gap_reason(race: Race) -> str:
    """A reason when the feed recorded a gap during the race."""
    symbols = list(RaceEntry.objects.filter(race=race).values_list("stock__symbol", flat=True))
    gaps = list(gaps_overlapping(race.starts_at, race.ends_at, symbols))
    return f"market data gap during the race ({len(gaps)} recorded)" if gaps else ""


def race_cancel(*, race_id: int, cause: str, now: datetime | None = None,
                from_states: tuple[str, ...] = CANCELLABLE) -> bool:
    """Cancel and refund every open bet (ledger kind=refund, one key per bet), in one transaction."""
    now = now or redis_now()
    with transaction.atomic():
        race = Race.objects.select_for_update(of=("self",)).filter(pk=race_id, state__in=from_states).first()
        if race is None:
            return False
        previous = race.state
        Race.objects.filter(pk=race_id, state=previous).update(state=S.CANCELLED, settled_at=now)
        _record(race_id, previous, S.CANCELLED, now, cause)
        count, total = refunds.refund_open_bets(race_id=race_id, memo=f"Refund: race cancelled ({cause})")
        events.race_event_on_commit(race_id, "cancelled", {"at": now.isoformat(), "cause": cause,
                                                           "refunds": count, "refunded": total})
    log.info("race %s cancelled (%s): %s refunds, %s points", race_id, cause, count, total)
    return True


def race_advance(*, race_id: int, now: datetime | None = None) -> list[str]:
    """Make every transition that is due now, in order. Returns the states entered."""
    now = now or redis_now()
    entered = []
    race = Race.objects.filter(pk=race_id).only("state", "betting_opens_at", "starts_at", "ends_at").first()
    if race is None:
        return entered
    if race.state == S.SCHEDULED and race.betting_opens_at <= now and race_open(race_id=race_id, now=now):
        entered.append(S.OPEN)
        race.state = S.OPEN
    if race.state == S.OPEN and race.starts_at <= now:
        if race_start(race_id=race_id, now=now):
            entered.append(S.RUNNING)
            race.state = S.RUNNING
        else:
            race.refresh_from_db(fields=["state"])
            if race.state == S.CANCELLED:
                entered.append(S.CANCELLED)
    if race.state == S.RUNNING and race.ends_at <= now:
        if race_finish(race_id=race_id, now=now):
            entered.append(S.CALCULATING)
        else:
            race.refresh_from_db(fields=["state"])
            if race.state == S.CANCELLED:
                entered.append(S.CANCELLED)
    return entered
