"""Bet writes: publishing a race's prices and placing a bet.

``bet_place`` holds every rule of betting; the HTTP API, the house bettors and the tests all
call it. A bet is one statement (apps.bets.placement_sql), atomic on its own: the race
row is share-locked first, then the bet's Idempotency-Key slot, the player's stake total on
the race (the cap) and the player's points account (balance and cooldown), and the stake's
ledger entry is appended — all or nothing. The confirmation reaches the player's sockets
after the commit.

Prices come from the race's pricing card (apps.bets.pricing), published once when betting
opens; ``quote_bet`` prices one bet from it and applies the pricing rules (no near-certain bets,
bracket bounds within the race's range). Bet placement, the bet form's preview and the economy
backtest all call it.
"""
from __future__ import annotations

import ipaddress
import math
from contextlib import nullcontext
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction

from apps.bets import errors, pricing
from apps.bets.models import Bet, RaceOdds, RacePricing
from apps.bets.odds_cache import ODDS_CACHE_KEY, card_parse, card_store, redis_client
from apps.bets.placement_sql import ACCOUNT_SQL, PLACE_BET_SQL, REFUSED_PREFIX, REFUSED_SQLSTATE, STAKE_TOTAL_SQL
from apps.bets.spec import BetSpec, bet_spec
from apps.bets.throttles import Preflight
from apps.core.db import prepared_cursor
from apps.core.redis import redis_now
from apps.races.models import Race

IDEMPOTENCY_KEY_MAX = 120


# --------------------------------------------------------------------------- prices


def _seasonal() -> bool:
    """Real prices follow the regular session's intraday rhythm; the simulator's do not."""
    return settings.MARKET_DATA_PROVIDER in ("finnhub", "alpaca")


def _card_build(race: dict, race_id: int, now: datetime) -> tuple[dict, str]:
    from apps.bets.pricing_inputs import race_inputs

    symbols = [s for s in Race.objects.filter(pk=race_id).order_by("entries__lane")
               .values_list("entries__stock__symbol", flat=True) if s]
    opens = race["betting_opens_at"]
    stocks, market, source = race_inputs(symbols=symbols, duration=race["duration"], before=now,
                                         race_start=race["starts_at"])
    starts = race["starts_at"].timestamp()
    card = pricing.build_card(
        race_seed=race_id, duration=race["duration"], opens_ts=opens.timestamp(),
        close_ts=max(opens.timestamp(), starts - settings.BET_CLOSE_BEFORE_START_SECONDS), start_ts=starts,
        end_ts=race["ends_at"].timestamp(), stocks=stocks, market=market, seasonal=_seasonal(),
        margin=settings.BET_HOUSE_MARGIN)
    return card, source


def _publish(race_id: int, *, compute: bool = True) -> dict | None:
    """The race's card from PostgreSQL (re-filling Redis); computed first when there is none, the
    race is open and ``compute`` is set. None when the race has no card (betting not open)."""
    card = RacePricing.objects.filter(race_id=race_id).values_list("card", flat=True).first()
    if card is None:
        race = (Race.objects.filter(pk=race_id)
                .values("state", "duration", "betting_opens_at", "starts_at", "ends_at").first())
        if race is None:
            raise Race.DoesNotExist(f"no race {race_id}")
        # Published once, when betting opens, never earlier: viewing or betting on a scheduled race
        # does not fix its prices.
        if not compute or race["state"] != Race.State.OPEN:
            return None
        now = redis_now()
        built, source = _card_build(race, race_id, now)
        try:
            with transaction.atomic():
                if RacePricing.objects.bulk_create([RacePricing(race_id=race_id, card=built, source=source,
                                                                published_at=now)], ignore_conflicts=True):
                    RaceOdds.objects.bulk_create(
                        [RaceOdds(race_id=race_id, symbol=symbol, probability=built["p"][lane],
                                  odds=max(pricing.MIN_ODDS, pricing.winner_odds(built, lane)), source=source,
                                  published_at=now,
                                  momentum_pct=None if built["momentum"][lane] is None
                                  else Decimal(f"{built['momentum'][lane]:.4f}"))
                         for lane, symbol in enumerate(built["symbols"])], ignore_conflicts=True)
        except IntegrityError:
            pass  # another publisher's row stands
        # The first publisher's card stands (INSERT … ON CONFLICT DO NOTHING): read it back.
        card = RacePricing.objects.filter(race_id=race_id).values_list("card", flat=True).first()
    card_store(race_id, card)
    return card


def race_odds_publish(*, race_id: int) -> dict | None:
    """Fix a race's prices from its stocks' recent history, once; returns the race's card.

    Safe to call any number of times and from many processes at once: the first publisher's
    card stands, later calls return it (and re-fill the Redis copy). Only an open race gets prices
    (the lifecycle calls this when betting opens); for any other race without a card it returns
    None. Raises Race.DoesNotExist for an unknown race.
    """
    return _publish(race_id)


def _lane(card: dict, symbol: str) -> int:
    return card["symbols"].index(symbol)


def quote_bet(card: dict, spec: BetSpec, now_ts: float) -> pricing.Quote:
    """Price a bet from the race's card at ``now_ts`` and apply the pricing rules; raises BetRefused."""
    symbols = card["symbols"]
    unknown = [s for s in spec.chosen if s not in symbols]
    if unknown:
        raise errors.invalid(f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not in this race; "
                             f"choose from {', '.join(symbols)}.", field="symbols" if spec.podium else "symbol",
                             code="unknown_symbol")
    if now_ts >= card["close"] and card["close"] < card["starts"]:
        raise _closed(card["starts"] - card["close"])
    if spec.kind == Bet.Kind.BRACKET:
        lane = _lane(card, spec.symbol)
        limit = card["range"][lane]
        if not (-limit <= spec.low_pct and spec.high_pct <= limit):
            raise errors.BetRefused(
                f"A bracket on {spec.symbol} in this race lies within ±{limit:g}% (a move beyond that over "
                f"{_duration_words(card['duration'])} is all but impossible); you gave {spec.low_pct}% to "
                f"{spec.high_pct}%.", code="bracket_out_of_range", status_code=400,
                fields={"low_pct" if spec.low_pct < -limit else "high_pct": [f"Stay within ±{limit:g}%."]})
        narrowest = card["min_width"][lane]
        if spec.high_pct - spec.low_pct < Decimal(str(narrowest)):
            message = (f"A bracket on {spec.symbol} in this race is at least {narrowest:g} points wide (half its "
                       f"typical move over {_duration_words(card['duration'])}); widen it.")
            raise errors.BetRefused(message, code="bracket_too_narrow", status_code=400,
                                    fields={"high_pct": [message]})
        quote = pricing.quote(card, kind="bracket", lane=lane, low=float(spec.low_pct), high=float(spec.high_pct),
                              now_ts=now_ts, margin=card["margin"])
    elif spec.kind == Bet.Kind.WINNER:
        quote = pricing.quote(card, kind="winner", lane=_lane(card, spec.symbol), now_ts=now_ts,
                              margin=card["margin"])
    else:
        pick = tuple(_lane(card, s) for s in spec.podium)
        quote = pricing.quote(card, kind="podium", podium=pick, now_ts=now_ts, margin=card["margin"])
    if quote.chance > settings.BET_MAX_WIN_PROBABILITY or quote.odds < pricing.MIN_ODDS:
        raise _near_certain(card, spec, quote)
    return quote


def _duration_words(duration: str) -> str:
    return {"5m": "5 minutes", "15m": "15 minutes", "1h": "an hour", "1d": "a trading day"}.get(duration, duration)


def _closed(seconds: float) -> errors.BetRefused:
    return errors.BetRefused(
        f"Betting closed {seconds:g} s before the start: our price feed runs a little behind the market, "
        f"and nobody may bet on a race that has begun.", code="betting_closed")


def _near_certain(card: dict, spec: BetSpec, quote: pricing.Quote) -> errors.BetRefused:
    chance = f"{quote.chance:.0%}"
    if spec.kind == Bet.Kind.BRACKET:
        lane = _lane(card, spec.symbol)
        centre = (float(spec.low_pct) + float(spec.high_pct)) / 2
        allowed = pricing.max_chance(card, "bracket", settings.BET_MAX_WIN_PROBABILITY) * 0.98
        half = pricing.widest_bracket_around(card, lane, allowed, centre)
        message = (f"This bracket is almost certain (the model gives it {chance}); narrow it, for example to "
                   f"{centre - half:.2f}% … {centre + half:.2f}%.")
        return errors.BetRefused(message, code="near_certain", status_code=422,
                                 fields={"high_pct": [message]})
    if spec.kind == Bet.Kind.WINNER:
        message = (f"{spec.symbol} is almost certain to win this race (the model gives it {chance}); "
                   f"this race takes no winner bet on it. Try a bracket or the podium.")
        return errors.BetRefused(message, code="near_certain", status_code=422, fields={"symbol": [message]})
    message = (f"This podium is almost certain (its expected accuracy is {chance}), so it would pay back less "
               f"than the stake; pick another order.")
    return errors.BetRefused(message, code="near_certain", status_code=422, fields={"symbols": [message]})


def bet_preview(*, race_id: int, kind: str, stake: int, symbol: str | None = None,
                low_pct: Decimal | float | None = None, high_pct: Decimal | float | None = None,
                symbols: list[str] | None = None) -> dict:
    """What a bet would get if placed now: odds, chance, early-bet factor and the most it can pay.

    The very function bet placement prices with (``quote_bet``); raises BetRefused like it, with
    ``race_not_open`` when the race has no prices yet.
    """
    spec = bet_spec(kind=kind, stake=stake, symbol=symbol, low_pct=low_pct, high_pct=high_pct, symbols=symbols)
    pipe = redis_client().pipeline(transaction=False)
    pipe.time()
    pipe.get(ODDS_CACHE_KEY.format(race_id))
    (seconds, micros), cached = pipe.execute()
    card = card_parse(cached) or _publish(race_id, compute=False)
    if card is None:
        raise errors.BetRefused("Odds are published when betting opens.", code="race_not_open")
    quote = quote_bet(card, spec, int(seconds) + int(micros) / 1e6)
    return {"odds": quote.odds, "chance": quote.chance, "expected_accuracy": quote.expected_accuracy,
            "timing": quote.timing, "potential_payout": quote.potential_payout(spec.stake, spec.kind),
            "base_payout": int(math.floor(spec.stake * float(quote.odds) * quote.timing + 1e-9)),
            "kind": spec.kind}


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
    close = settings.BET_CLOSE_BEFORE_START_SECONDS
    if state == Race.State.OPEN and now < starts_at - timedelta(seconds=close):
        return
    if state == Race.State.SCHEDULED:
        raise errors.BetRefused(f"Betting on this race is not open yet; the race starts at "
                                f"{starts_at:%H:%M:%S} UTC.", code="race_not_open")
    if state == Race.State.CANCELLED:
        raise errors.BetRefused("This race was cancelled; it takes no bets.", code="race_cancelled")
    if state == Race.State.OPEN and now < starts_at:
        raise _closed(close)
    raise errors.BetRefused("This race has already started; bets close at the start.", code="race_started")


def _check_symbols(spec: BetSpec, race_symbols) -> None:
    unknown = [s for s in spec.chosen if s not in race_symbols]
    if unknown:
        raise errors.invalid(f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not in this race; "
                             f"choose from {', '.join(race_symbols)}.", field="symbols" if spec.podium else "symbol",
                             code="unknown_symbol")


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


def _race_card(race_id: int, cached: str | None, now: datetime) -> dict:
    card = card_parse(cached)
    if card is not None:
        return card
    try:
        card = _publish(race_id)
    except Race.DoesNotExist:
        raise errors.race_not_found(race_id)
    if card is None:  # betting has not opened (or the race is over): say which
        race = Race.objects.filter(pk=race_id).values("state", "starts_at").first()
        _check_race_open(race["state"], race["starts_at"], now)
        raise errors.BetRefused("This race takes no bets.", code="race_not_open")
    return card


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
    card = _race_card(race_id, cached, now)
    # The price and the pricing rules (symbols are checked again in SQL, against the race's entries).
    quote = quote_bet(card, spec, now.timestamp())
    odds, payout = quote.odds, quote.potential_payout(spec.stake, spec.kind)
    cooldown = settings.BET_COOLDOWN_SECONDS
    ip = _client_ip(client_ip)
    params = {
        "user": user_id, "race": race_id, "kind": spec.kind, "stake": spec.stake, "symbol": spec.symbol,
        "low": spec.low_pct, "high": spec.high_pct, "podium": list(spec.podium) if spec.podium else None,
        "chosen": spec.chosen, "odds": odds, "payout": payout, "now": now, "timing": quote.timing,
        "closes": now + timedelta(seconds=settings.BET_CLOSE_BEFORE_START_SECONDS), "key": idempotency_key, "ip": ip,
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
                      odds=odds, potential_payout=payout, placed_at=now, timing=quote.timing,
                      status=Bet.Status.OPEN, payout=0,
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
