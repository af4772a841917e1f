"""Bet writes: publishing a race's winner odds and placing a bet.

``bet_place`` holds every rule of betting; the HTTP API, the house bettors and the tests all
call it. A bet is one statement (apps.bets.placement_sql), atomic on its own: the race
row is share-locked first, then the bet's Idempotency-Key slot, the player's stake total on
the race (the cap) and the player's points account (balance and cooldown), and the stake's
ledger entry is appended — all or nothing. The confirmation reaches the player's sockets
after the commit.
"""
from __future__ import annotations

import ipaddress
from contextlib import nullcontext
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from apps.bets import errors, odds as odds_math
from apps.bets.models import Bet, RaceOdds
from apps.bets.momentum import race_momentum
from apps.bets.odds_cache import ODDS_CACHE_KEY, card_parse, card_store, redis_client
from apps.bets.placement_sql import ACCOUNT_SQL, PLACE_BET_SQL, REFUSED_PREFIX, REFUSED_SQLSTATE, STAKE_TOTAL_SQL
from apps.bets.spec import BetSpec, bet_spec
from apps.bets.throttles import Preflight
from apps.core.db import prepared_cursor
from apps.core.redis import redis_now
from apps.races.models import Race

IDEMPOTENCY_KEY_MAX = 120


# --------------------------------------------------------------------------- odds


def _publish(race_id: int) -> tuple[str, dict[str, Decimal]]:
    race = Race.objects.filter(pk=race_id).values("duration").first()
    if race is None:
        raise Race.DoesNotExist(f"no race {race_id}")
    published = dict(RaceOdds.objects.filter(race_id=race_id).values_list("symbol", "odds"))
    if not published:
        symbols = [s for s in Race.objects.filter(pk=race_id).order_by("entries__lane")
                   .values_list("entries__stock__symbol", flat=True) if s]
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
    card_store(race_id, race["duration"], published)
    return race["duration"], published


def race_odds_publish(*, race_id: int) -> dict[str, Decimal]:
    """Fix a race's winner odds from the stocks' recent momentum, once; returns the published odds.

    Safe to call any number of times and from many processes at once: the first publisher's
    odds stand (INSERT … ON CONFLICT DO NOTHING), later calls return them (and re-fill the
    Redis copy). The race lifecycle calls it when a race opens; ``selectors.race_odds`` calls
    it for a race that has none yet. Raises Race.DoesNotExist for an unknown race.
    """
    return _publish(race_id)[1]


# --------------------------------------------------------------------------- bets


class _AlreadyPlaced(Exception):
    """The Idempotency-Key is taken: the first bet stands (raised to roll back this attempt)."""


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


def _check_race_open(state: str, starts_at: datetime, now: datetime) -> None:
    if state == Race.State.OPEN and now < starts_at:
        return
    if state == Race.State.SCHEDULED:
        raise errors.BetRefused(f"Betting on this race is not open yet; the race starts at "
                                f"{starts_at:%H:%M:%S} UTC.", code="race_not_open")
    if state == Race.State.CANCELLED:
        raise errors.BetRefused("This race was cancelled; it takes no bets.", code="race_cancelled")
    raise errors.BetRefused("This race has already started; bets close at the start.", code="race_started")


def _check_symbols(spec: BetSpec, race_symbols) -> None:
    unknown = [s for s in spec.chosen if s not in race_symbols]
    if unknown:
        raise errors.invalid(f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not in this race; "
                             f"choose from {', '.join(race_symbols)}.", field="symbols" if spec.podium else "symbol",
                             code="unknown_symbol")


def _odds_for(spec: BetSpec, winner: dict[str, Decimal], duration: str) -> Decimal:
    if spec.kind == Bet.Kind.WINNER:
        return winner[spec.symbol]
    if spec.kind == Bet.Kind.BRACKET:
        return odds_math.bracket_odds(spec.low_pct, spec.high_pct, duration)
    return odds_math.podium_odds(len(winner))


def _refusal_after_debit(cursor, user_id: int, stake: int, now: datetime) -> errors.BetRefused:
    """Say why the conditional debit matched no row (read after waiting for its lock)."""
    cursor.execute(ACCOUNT_SQL, [user_id])
    row = cursor.fetchone()
    if row is None:
        return errors.BetRefused("You have no points account yet.", code="no_account")
    balance, last_bet_at, is_active = row
    if not is_active:
        return errors.BetRefused("Your account is disabled; it cannot bet.", code="account_disabled",
                                 status_code=403)
    if balance < stake:
        return errors.BetRefused(f"Not enough points: you have {balance}, this bet needs {stake}.",
                                 code="insufficient_points")
    cooldown = settings.BET_COOLDOWN_SECONDS
    if cooldown > 0 and last_bet_at is not None:
        remaining = cooldown - (now - last_bet_at).total_seconds()
        if remaining > 0:
            return errors.cooldown(remaining, cooldown)
    return errors.BetRefused("Your points changed while the bet was placed; please try again.", code="conflict")


def _race_card(race_id: int, cached: str | None) -> tuple[str, dict[str, Decimal]]:
    card = card_parse(cached)
    if card is not None:
        return card
    try:
        return _publish(race_id)
    except Race.DoesNotExist:
        raise errors.race_not_found(race_id)


def bet_place(*, user, race_id: int, kind: str, stake: int, symbol: str | None = None,
              low_pct: Decimal | float | None = None, high_pct: Decimal | float | None = None,
              symbols: list[str] | None = None, idempotency_key: str | None = None,
              client_ip: str | None = None, preflight: Preflight | None = None) -> Bet:
    """Place one bet, or raise BetRefused (4xx, nothing written).

    With an ``idempotency_key``, a repeat returns the first bet (``bet.replayed`` is True)
    instead of betting twice, even when the repeats arrive at the same moment. ``preflight`` is
    the clock and odds card the API's rate-limit check already read (apps.bets.throttles), so
    the bet needs no second Redis round trip.
    """
    spec = bet_spec(kind=kind, stake=stake, symbol=symbol, low_pct=low_pct, high_pct=high_pct, symbols=symbols)
    user_id = int(user.pk)  # the API passes a token user (simplejwt's TokenUser) whose pk may be text
    if isinstance(race_id, bool) or not isinstance(race_id, int) or not 0 < race_id < 2**63:
        raise errors.race_not_found(race_id)
    if idempotency_key is not None:
        if not idempotency_key or len(idempotency_key) > IDEMPOTENCY_KEY_MAX:
            raise errors.invalid(f"An Idempotency-Key has 1 to {IDEMPOTENCY_KEY_MAX} characters.",
                                 field="idempotency_key")
        if (first := _replay(user_id, idempotency_key, race_id, spec)) is not None:
            return first

    # The clock and what we know of the race (duration, symbols, published odds): one round trip,
    # or none when the API's rate-limit check brought them.
    if preflight is not None:
        now, cached = preflight.now, preflight.card
    else:
        pipe = redis_client().pipeline(transaction=False)
        pipe.time()
        pipe.get(ODDS_CACHE_KEY.format(race_id))
        (seconds, micros), cached = pipe.execute()
        now = datetime.fromtimestamp(int(seconds), tz=timezone.utc) + timedelta(microseconds=int(micros))
    duration, winner = _race_card(race_id, cached)
    _check_symbols(spec, winner)  # again in SQL; here so that the odds below exist
    odds = _odds_for(spec, winner, duration)
    payout = odds_math.potential_payout(spec.stake, odds)
    cooldown = settings.BET_COOLDOWN_SECONDS
    ip = _client_ip(client_ip)
    params = {
        "user": user_id, "race": race_id, "kind": spec.kind, "stake": spec.stake, "symbol": spec.symbol,
        "low": spec.low_pct, "high": spec.high_pct, "podium": list(spec.podium) if spec.podium else None,
        "chosen": spec.chosen, "odds": odds, "payout": payout, "now": now, "key": idempotency_key, "ip": ip,
        "cap": settings.BET_MAX_STAKE_PER_RACE, "cutoff": now - timedelta(seconds=cooldown) if cooldown > 0 else None,
        "memo": f"{spec.kind} bet on race {race_id}",
    }
    try:
        # One statement, atomic by itself (apps.bets.placement_sql): in autocommit when the caller
        # has no transaction open, else in a savepoint so that a refusal leaves the caller's
        # transaction usable.
        with (transaction.atomic() if connection.in_atomic_block else nullcontext()), \
                prepared_cursor() as cursor:  # planned once per connection (apps.core.db)
            cursor.execute(PLACE_BET_SQL, params)
            state, starts_at, race_symbols, bet_id, balance, _ = cursor.fetchone()
            if state is None:
                raise errors.race_not_found(race_id)
            if bet_id is None:
                _check_race_open(state, starts_at, now)
                _check_symbols(spec, race_symbols)
                raise _AlreadyPlaced  # the only other way the insert does nothing
            bet = Bet(pk=bet_id, user_id=user_id, race_id=race_id, kind=spec.kind, stake=spec.stake,
                      symbol=spec.symbol, low_pct=spec.low_pct, high_pct=spec.high_pct, podium=params["podium"],
                      odds=odds, potential_payout=payout, placed_at=now, status=Bet.Status.OPEN, payout=0,
                      idempotency_key=idempotency_key, client_ip=ip)
            bet._state.adding = False
            bet.replayed = False
            bet.balance_after = balance
            _confirm_on_commit(bet, balance)  # at once in autocommit: the bet is committed
    except DatabaseError as exc:
        reason = _refused(exc)
        if reason is None:
            raise
        # The statement undid itself; say why, from what is there now.
        with connection.cursor() as cursor:
            if reason == "stake_cap":
                cursor.execute(STAKE_TOTAL_SQL, [user_id, race_id])
                row = cursor.fetchone()
                raise errors.BetRefused(f"You can stake at most {settings.BET_MAX_STAKE_PER_RACE} points on one "
                                        f"race; you have {row[0] if row else 0} on it already.", code="stake_cap")
            raise _refusal_after_debit(cursor, user_id, spec.stake, now)
    except _AlreadyPlaced:
        # A concurrent request with the same key committed first: return its bet.
        first = _replay(user_id, idempotency_key, race_id, spec) if idempotency_key else None
        if first is None:
            raise errors.BetRefused("Your bet could not be placed right now; please try again.", code="conflict")
        return first
    return bet


def _refused(exc: DatabaseError) -> str | None:
    """The reason bets_refuse() raised with, or None for any other database error."""
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) != REFUSED_SQLSTATE:
        return None
    message = str(getattr(cause.diag, "message_primary", "") or "")
    return message[len(REFUSED_PREFIX):] if message.startswith(REFUSED_PREFIX) else None


def _confirm_on_commit(bet: Bet, balance: int) -> None:
    from apps.bets.serializers import bet_representation
    from apps.core.events import user_event_on_commit

    # In the background: the request does not wait for Redis to announce a bet already saved.
    user_event_on_commit(bet.user_id, {"type": "bet_confirmed", "bet": bet_representation(bet), "balance": balance},
                         background=True)
