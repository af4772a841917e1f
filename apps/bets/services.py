"""Bet writes: publishing a race's winner odds and placing a bet.

``bet_place`` holds every rule of betting; the HTTP API, the house bettors and the tests all
call it. One bet is one short transaction that locks, in this order:

1. the race row ``FOR SHARE`` — a state change (open → running) waits for bets in flight,
   and a bet that waited sees the new state;
2. the bet's Idempotency-Key slot (the unique index, through ``INSERT … ON CONFLICT DO NOTHING``);
3. the player's stake total on the race (``bets_racestake``, a conditional upsert: the cap);
4. the player's points account (a conditional debit: balance and cooldown),

then appends the stake's ledger entry. Any refusal rolls the whole transaction back, so
nothing is written. The confirmation reaches the player's sockets after the commit.
"""
from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import connection, transaction

from apps.bets import errors, odds as odds_math
from apps.bets.models import Bet, RaceOdds
from apps.bets.momentum import race_momentum
from apps.core.redis import get_redis, redis_now
from apps.points.models import LedgerEntry
from apps.races.models import Race

ODDS_CACHE_KEY = "bets:odds:{}"
ODDS_CACHE_TTL_SECONDS = 3 * 24 * 3600  # longer than any race's lifetime; PostgreSQL keeps them for good
IDEMPOTENCY_KEY_MAX = 120
PCT_QUANTUM = Decimal("0.001")

RACE_FOR_BET_SQL = """
SELECT r.state, r.starts_at, r.betting_opens_at, r.duration,
       ARRAY(SELECT s.symbol FROM races_raceentry e JOIN market_stock s ON s.id = e.stock_id
             WHERE e.race_id = r.id ORDER BY e.lane)
FROM races_race r WHERE r.id = %s FOR SHARE OF r
"""
INSERT_BET_SQL = """
INSERT INTO bets_bet (user_id, race_id, kind, stake, symbol, low_pct, high_pct, podium, odds, potential_payout,
                      placed_at, status, payout, score, idempotency_key, client_ip)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'open', 0, '{}', %s, %s)
ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
RETURNING id
"""
# The per-race cap: the first bet inserts the total, later ones add to it only while it stays
# within the cap. The row lock serialises one player's concurrent bets on one race.
STAKE_UPSERT_SQL = """
INSERT INTO bets_racestake (user_id, race_id, total) VALUES (%(user)s, %(race)s, %(stake)s)
ON CONFLICT (user_id, race_id) DO UPDATE SET total = bets_racestake.total + EXCLUDED.total
WHERE bets_racestake.total + EXCLUDED.total <= %(cap)s
RETURNING total
"""
# The debit and the cooldown in one conditional UPDATE of the account row. last_bet_at never
# moves backwards, even when requests reach here out of clock order.
DEBIT_SQL = """
UPDATE points_pointsaccount
SET balance = balance - %(stake)s, updated_at = now(),
    last_bet_at = GREATEST(COALESCE(last_bet_at, %(now)s), %(now)s)
WHERE user_id = %(user)s AND balance >= %(stake)s
  AND (%(cutoff)s::timestamptz IS NULL OR last_bet_at IS NULL OR last_bet_at <= %(cutoff)s::timestamptz)
RETURNING balance
"""
INSERT_STAKE_ENTRY_SQL = """
INSERT INTO points_ledgerentry (user_id, amount, kind, idempotency_key, balance_after, race_id, bet_id, memo, created_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
"""


# --------------------------------------------------------------------------- odds


def _cache_odds(race_id: int, published: dict[str, Decimal]) -> None:
    get_redis().set(ODDS_CACHE_KEY.format(race_id), json.dumps({s: str(o) for s, o in published.items()}),
                    ex=ODDS_CACHE_TTL_SECONDS)


def race_odds_publish(*, race_id: int) -> dict[str, Decimal]:
    """Fix a race's winner odds from the stocks' recent momentum, once; returns the published odds.

    Safe to call any number of times and from many processes at once: the first publisher's
    odds stand (INSERT … ON CONFLICT DO NOTHING), later calls return them. The race lifecycle
    calls it when a race opens; ``selectors.race_odds`` calls it for a race that has none yet.
    Raises Race.DoesNotExist for an unknown race.
    """
    race = Race.objects.filter(pk=race_id).values("duration").first()
    if race is None:
        raise Race.DoesNotExist(f"no race {race_id}")
    published = dict(RaceOdds.objects.filter(race_id=race_id).values_list("symbol", "odds"))
    if not published:
        symbols = list(Race.objects.filter(pk=race_id).order_by("entries__lane")
                       .values_list("entries__stock__symbol", flat=True))
        symbols = [s for s in symbols if s]
        now = redis_now()
        momentum, source = race_momentum(symbols, now)
        odds = odds_math.winner_odds(momentum)
        RaceOdds.objects.bulk_create(
            [RaceOdds(race_id=race_id, symbol=s, odds=odds[s], source=source, published_at=now,
                      momentum_pct=None if momentum[s] is None else Decimal(f"{momentum[s]:.4f}"))
             for s in symbols],
            ignore_conflicts=True,
        )
        published = dict(RaceOdds.objects.filter(race_id=race_id).values_list("symbol", "odds"))
    published = {s: o.quantize(odds_math.ODDS_QUANTUM) for s, o in published.items()}
    _cache_odds(race_id, published)
    return published


# --------------------------------------------------------------------------- bets


@dataclass(frozen=True)
class BetSpec:
    """A bet's choice, normalised: upper-case symbols, percentages at the stored precision."""

    kind: str
    stake: int
    symbol: str = ""
    low_pct: Decimal | None = None
    high_pct: Decimal | None = None
    podium: tuple[str, ...] | None = None


class _AlreadyPlaced(Exception):
    """The Idempotency-Key is taken: the first bet stands (raised to roll back this attempt)."""


def _pct(value, field: str) -> Decimal:
    try:
        pct = Decimal(str(value)).quantize(PCT_QUANTUM)
    except (InvalidOperation, ValueError, TypeError):
        raise errors.invalid(f"{field} must be a number (a % change such as 2.5).", field=field)
    if not pct.is_finite() or not odds_math.BRACKET_MIN_PCT <= pct <= odds_math.BRACKET_MAX_PCT:
        raise errors.invalid(f"{field} must be between {odds_math.BRACKET_MIN_PCT}% and "
                             f"{odds_math.BRACKET_MAX_PCT}%.", field=field)
    return pct


def _symbol(value, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise errors.invalid("Name a stock of this race (its symbol, e.g. AAPL).", field=field)
    return value.strip().upper()


def bet_spec(*, kind, stake, symbol=None, low_pct=None, high_pct=None, symbols=None) -> BetSpec:
    """Check a bet's shape (no I/O) and normalise it; raises BetRefused (400) on bad input."""
    if kind not in Bet.Kind.values:
        raise errors.invalid(f"Unknown bet kind {kind!r}: choose winner, bracket or podium.", field="kind",
                             code="invalid_kind")
    if isinstance(stake, bool) or not isinstance(stake, int):
        raise errors.invalid("The stake is a whole number of points.", field="stake")
    if stake <= 0:
        raise errors.invalid("The stake must be more than 0 points.", field="stake", code="stake_too_low")
    if stake < settings.BET_MIN_STAKE:
        raise errors.invalid(f"The smallest stake is {settings.BET_MIN_STAKE} points.", field="stake",
                             code="stake_too_low")
    if stake > settings.BET_MAX_STAKE_PER_RACE:
        raise errors.invalid(f"You can stake at most {settings.BET_MAX_STAKE_PER_RACE} points on one race.",
                             field="stake", code="stake_too_high")
    if kind == Bet.Kind.WINNER:
        return BetSpec(kind=kind, stake=stake, symbol=_symbol(symbol, "symbol"))
    if kind == Bet.Kind.BRACKET:
        if low_pct is None or high_pct is None:
            field = "low_pct" if low_pct is None else "high_pct"
            raise errors.invalid("A bracket bet needs low_pct and high_pct (e.g. 2.0 and 4.0).", field=field)
        low, high = _pct(low_pct, "low_pct"), _pct(high_pct, "high_pct")
        if high - low < odds_math.BRACKET_MIN_WIDTH_PCT:
            raise errors.invalid(f"high_pct must be above low_pct by at least {odds_math.BRACKET_MIN_WIDTH_PCT} "
                                 f"points (you gave {low}% to {high}%).", field="high_pct")
        return BetSpec(kind=kind, stake=stake, symbol=_symbol(symbol, "symbol"), low_pct=low, high_pct=high)
    if not isinstance(symbols, (list, tuple)) or len(symbols) != 3:
        raise errors.invalid("A podium bet names three stocks, first to third.", field="symbols")
    podium = tuple(_symbol(s, "symbols") for s in symbols)
    if len(set(podium)) != 3:
        raise errors.invalid("A podium bet names three different stocks.", field="symbols")
    return BetSpec(kind=kind, stake=stake, podium=podium)


def _check_race_open(state: str, starts_at: datetime, now: datetime) -> None:
    if state == Race.State.OPEN and now < starts_at:
        return
    if state == Race.State.SCHEDULED:
        raise errors.BetRefused(f"Betting on this race is not open yet; the race starts at "
                                f"{starts_at:%H:%M:%S} UTC.", code="race_not_open")
    if state == Race.State.CANCELLED:
        raise errors.BetRefused("This race was cancelled; it takes no bets.", code="race_cancelled")
    raise errors.BetRefused("This race has already started; bets close at the start.", code="race_started")


def _check_symbols(spec: BetSpec, race_symbols: list[str]) -> None:
    chosen = spec.podium or (spec.symbol,)
    unknown = [s for s in chosen if s not in race_symbols]
    if unknown:
        field = "symbols" if spec.podium else "symbol"
        raise errors.invalid(f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not in this race; "
                             f"choose from {', '.join(race_symbols)}.", field=field, code="unknown_symbol")


def _odds_for(spec: BetSpec, winner: dict[str, Decimal], duration: str, stock_count: int) -> Decimal:
    if spec.kind == Bet.Kind.WINNER:
        return winner[spec.symbol]
    if spec.kind == Bet.Kind.BRACKET:
        return odds_math.bracket_odds(spec.low_pct, spec.high_pct, duration)
    return odds_math.podium_odds(stock_count)


def _client_ip(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None


def _same_request(bet: Bet, race_id: int, spec: BetSpec) -> bool:
    return (bet.race_id == race_id and bet.kind == spec.kind and bet.stake == spec.stake
            and (bet.symbol or "") == spec.symbol and bet.low_pct == spec.low_pct and bet.high_pct == spec.high_pct
            and (tuple(bet.podium) if bet.podium else None) == spec.podium)


def _replay(user_id: int, key: str, race_id: int, spec: BetSpec) -> Bet | None:
    bet = Bet.objects.filter(user_id=user_id, idempotency_key=key).first()
    if bet is None:
        return None
    if not _same_request(bet, race_id, spec):
        raise errors.BetRefused("This Idempotency-Key was already used for a different bet; use a new key.",
                                code="idempotency_key_reused", status_code=422)
    bet.replayed = True
    return bet


def _refusal_after_debit(cursor, user_id: int, stake: int, now: datetime) -> errors.BetRefused:
    """Say why the conditional debit matched no row (the transaction rolls back after this)."""
    cursor.execute("SELECT balance, last_bet_at FROM points_pointsaccount WHERE user_id = %s", [user_id])
    row = cursor.fetchone()
    if row is None:
        return errors.BetRefused("You have no points account yet.", code="no_account")
    balance, last_bet_at = row
    if balance < stake:
        return errors.BetRefused(f"Not enough points: you have {balance}, this bet needs {stake}.",
                                 code="insufficient_points")
    cooldown = settings.BET_COOLDOWN_SECONDS
    if cooldown > 0 and last_bet_at is not None:
        remaining = cooldown - (now - last_bet_at).total_seconds()
        if remaining > 0:
            return errors.cooldown(remaining, cooldown)
    return errors.BetRefused("Your points changed while the bet was placed; please try again.", code="conflict")


def _winner_odds(race_id: int, cached: str | None) -> dict[str, Decimal]:
    if cached:
        return {s: Decimal(o) for s, o in json.loads(cached).items()}
    try:
        return race_odds_publish(race_id=race_id)
    except Race.DoesNotExist:
        raise errors.race_not_found(race_id)


def bet_place(*, user, race_id: int, kind: str, stake: int, symbol: str | None = None,
              low_pct: Decimal | float | None = None, high_pct: Decimal | float | None = None,
              symbols: list[str] | None = None, idempotency_key: str | None = None,
              client_ip: str | None = None) -> Bet:
    """Place one bet, or raise BetRefused (4xx, nothing written).

    With an ``idempotency_key``, a repeat returns the first bet (``bet.replayed`` is True)
    instead of betting twice, even when the repeats arrive at the same moment.
    """
    spec = bet_spec(kind=kind, stake=stake, symbol=symbol, low_pct=low_pct, high_pct=high_pct, symbols=symbols)
    if isinstance(race_id, bool) or not isinstance(race_id, int) or not 0 < race_id < 2**63:
        raise errors.race_not_found(race_id)
    if idempotency_key is not None:
        if not idempotency_key or len(idempotency_key) > IDEMPOTENCY_KEY_MAX:
            raise errors.invalid(f"An Idempotency-Key has 1 to {IDEMPOTENCY_KEY_MAX} characters.",
                                 field="idempotency_key")
        if (first := _replay(user.pk, idempotency_key, race_id, spec)) is not None:
            return first

    # The clock and the published odds in one Redis round trip.
    pipe = get_redis().pipeline(transaction=False)
    pipe.time()
    pipe.get(ODDS_CACHE_KEY.format(race_id))
    (seconds, micros), cached = pipe.execute()
    now = datetime.fromtimestamp(int(seconds), tz=timezone.utc) + timedelta(microseconds=int(micros))
    winner = _winner_odds(race_id, cached)

    cooldown = settings.BET_COOLDOWN_SECONDS
    cutoff = now - timedelta(seconds=cooldown) if cooldown > 0 else None
    ip = _client_ip(client_ip)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(RACE_FOR_BET_SQL, [race_id])
            race = cursor.fetchone()
            if race is None:
                raise errors.race_not_found(race_id)
            state, starts_at, _opens_at, duration, race_symbols = race
            _check_race_open(state, starts_at, now)
            _check_symbols(spec, race_symbols)
            odds = _odds_for(spec, winner, duration, len(race_symbols))
            payout = odds_math.potential_payout(spec.stake, odds)

            cursor.execute(INSERT_BET_SQL, [user.pk, race_id, spec.kind, spec.stake, spec.symbol, spec.low_pct,
                                            spec.high_pct, list(spec.podium) if spec.podium else None, odds, payout,
                                            now, idempotency_key, ip])
            inserted = cursor.fetchone()
            if inserted is None:
                raise _AlreadyPlaced
            bet_id = inserted[0]

            cursor.execute(STAKE_UPSERT_SQL, {"user": user.pk, "race": race_id, "stake": spec.stake,
                                              "cap": settings.BET_MAX_STAKE_PER_RACE})
            if cursor.fetchone() is None:
                cursor.execute("SELECT total FROM bets_racestake WHERE user_id = %s AND race_id = %s",
                               [user.pk, race_id])
                total = cursor.fetchone()[0]
                raise errors.BetRefused(f"You can stake at most {settings.BET_MAX_STAKE_PER_RACE} points on one "
                                        f"race; you have {total} on it already.", code="stake_cap")

            cursor.execute(DEBIT_SQL, {"user": user.pk, "stake": spec.stake, "now": now, "cutoff": cutoff})
            debited = cursor.fetchone()
            if debited is None:
                raise _refusal_after_debit(cursor, user.pk, spec.stake, now)
            balance = debited[0]

            cursor.execute(INSERT_STAKE_ENTRY_SQL, [user.pk, -spec.stake, LedgerEntry.Kind.STAKE,
                                                    f"bet:{bet_id}:stake", balance, race_id, bet_id,
                                                    f"{spec.kind} bet on race {race_id}", now])
            bet = Bet(pk=bet_id, user_id=user.pk, race_id=race_id, kind=spec.kind, stake=spec.stake,
                      symbol=spec.symbol, low_pct=spec.low_pct, high_pct=spec.high_pct,
                      podium=list(spec.podium) if spec.podium else None, odds=odds, potential_payout=payout,
                      placed_at=now, status=Bet.Status.OPEN, payout=0, score={}, idempotency_key=idempotency_key,
                      client_ip=ip)
            bet._state.adding = False
            bet.replayed = False
            bet.balance_after = balance
            _confirm_on_commit(bet, balance)
    except _AlreadyPlaced:
        # A concurrent request with the same key committed first: return its bet.
        first = _replay(user.pk, idempotency_key, race_id, spec)
        if first is None:  # cannot happen: the key's row blocked our insert, so it exists
            raise errors.BetRefused("Your bet could not be placed right now; please try again.", code="conflict")
        return first
    return bet


def _confirm_on_commit(bet: Bet, balance: int) -> None:
    from apps.bets.serializers import bet_representation
    from apps.live.events import user_event_on_commit

    user_event_on_commit(bet.user_id, {"type": "bet_confirmed", "bet": bet_representation(bet), "balance": balance})
