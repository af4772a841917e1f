"""Writes of the prediction markets: create a market, trade, set and cancel stops, add liquidity.

Every trade is one transaction: the market row locked first (SELECT … FOR UPDATE), then the
player's position, then the points accounts through apps.points.ledger. The price comes from
``pricing.fill_for``, the same function the quote endpoint calls, evaluated on the locked row;
the fill is written as it was computed (execution.write_fill), the stops it crosses run inside
the same transaction (execution.run_stops), and the events go out after the commit.
Resolution and cancellation live in apps.markets.resolution.
"""
from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction

from apps.core.redis import redis_now
from apps.markets import errors, events, execution, resolvers
from apps.markets.amm import Refusal, cpmm, lmsr, sigmoid
from apps.markets.amm.numeric import calc
from apps.markets.models import Market, MarketTrade, Stop
from apps.markets.pricing import Order
from apps.markets.state import columns_of, curve_of, module_of, to_json
from apps.points import ledger

log = logging.getLogger(__name__)
M = Market.Mechanism
IDEMPOTENCY_KEY_MAX = 120
MAX_OUTCOMES = 20
MAX_STOPS_PER_POSITION = 10
DEADLOCK_RETRIES = 3


def fee_pct_default() -> Decimal:
    return Decimal(str(settings.MARKET_FEE_PCT)).quantize(Decimal("0.0001"))


# --------------------------------------------------------------------------- creating


def _outcomes(kind: str, mechanism: str, outcomes, fixed: list[str] | None) -> list[str]:
    if kind == Market.Kind.BINARY:
        if outcomes not in (None, [], ["YES", "NO"]):
            raise errors.invalid('A binary market\'s outcomes are ["YES", "NO"].', field="outcomes")
        return ["YES", "NO"]
    if mechanism != M.LMSR:
        raise errors.invalid("A multi-outcome market is priced by lmsr.", field="mechanism")
    if fixed is not None:
        if outcomes and list(outcomes) != fixed:
            raise errors.invalid(f"This rule fixes the outcomes: {', '.join(fixed)}.", field="outcomes")
        return fixed
    if not isinstance(outcomes, list) or not 2 <= len(outcomes) <= MAX_OUTCOMES:
        raise errors.invalid(f"A multi-outcome market has 2 to {MAX_OUTCOMES} outcomes.", field="outcomes")
    labels = [o.strip() if isinstance(o, str) else "" for o in outcomes]
    if not all(0 < len(o) <= 64 for o in labels) or len(set(labels)) != len(labels):
        raise errors.invalid("Outcomes are distinct labels of 1 to 64 characters.", field="outcomes")
    return labels


def _positive(value, field: str, *, limit: Decimal = Decimal(10) ** 9) -> Decimal:
    if value is None:
        raise errors.invalid(f"{field} is required for this mechanism.", field=field)
    value = Decimal(str(value))
    if not value.is_finite() or not 0 < value <= limit:
        raise errors.invalid(f"{field} is a positive number up to {limit:,}.", field=field)
    return value


def _initial_state(*, kind: str, mechanism: str, outcomes: list[str], liquidity, initial_probability, b, curve):
    """(the mechanism's opening state, the house's worst loss)."""
    try:
        if mechanism == M.CPMM:
            liquidity = _positive(liquidity, "liquidity")
            prob = Decimal(str(initial_probability if initial_probability is not None else "0.5"))
            if not cpmm.PROB_MIN <= prob <= cpmm.PROB_MAX:
                raise errors.invalid("initial_probability is between 0.01 and 0.99.", field="initial_probability")
            floor = min(Decimal(1), liquidity / 100)
            return cpmm.initial(liquidity=liquidity, probability=prob, floor=floor.quantize(Decimal("1e-18"))), liquidity
        if mechanism == M.LMSR:
            b = _positive(b, "b")
            return lmsr.initial(outcomes=len(outcomes), b=b), lmsr.worst_loss(outcomes=len(outcomes), b=b)
        if kind != Market.Kind.BINARY:
            raise errors.invalid("A sigmoid market is binary.", field="kind")
        if not isinstance(curve, dict):
            raise errors.invalid("curve is {p_min, p_max, k, x0, max_shares}.", field="curve")
        try:
            shape = curve_of({"p_min": "0.01", "p_max": "0.99", "k": "10", "x0": "0.5", **curve})
        except (KeyError, ArithmeticError, ValueError):
            raise errors.invalid("curve is {p_min, p_max, k, x0, max_shares}, numbers.", field="curve") from None
        if not all(v.is_finite() for v in vars(shape).values()) or shape.max_shares > Decimal(10) ** 9 \
                or shape.k > 1000 or abs(shape.x0) > 10:
            raise errors.invalid("curve: k up to 1000, |x0| up to 10, max_shares up to 10^9.", field="curve")
        return sigmoid.initial(curve=shape), sigmoid.worst_loss(shape)
    except ValueError as exc:
        raise errors.invalid(str(exc), field="curve" if mechanism == M.SIGMOID else "mechanism") from None
    except Refusal as exc:
        raise errors.invalid(str(exc), field="initial_probability") from None


def market_create(*, question: str, kind: str, mechanism: str, closes_at: datetime, outcomes=None, liquidity=None,
                  initial_probability=None, b=None, curve=None, resolves_by=None, created_by_id: int | None = None,
                  is_generated: bool = False, generation_key: str | None = None,
                  now: datetime | None = None) -> Market:
    """Open a market. The house's worst loss (CPMM liquidity, LMSR b·ln n, the sigmoid curve's
    bound) is recorded as its subsidy, funded market-side (docs/MARKETS.md)."""
    question = (question or "").strip()
    if not 5 <= len(question) <= 200:
        raise errors.invalid("A question has 5 to 200 characters.", field="question")
    if kind not in Market.Kind.values:
        raise errors.invalid("kind is binary or multi.", field="kind")
    if mechanism not in M.values:
        raise errors.invalid("mechanism is cpmm, lmsr or sigmoid.", field="mechanism")
    if mechanism == M.CPMM and kind != Market.Kind.BINARY:
        raise errors.invalid("A cpmm market is binary.", field="kind")
    now = now or redis_now()
    if closes_at <= now:
        raise errors.invalid("closes_at is in the future.", field="closes_at")
    spec = resolvers.validate(resolves_by, kind=kind)
    outcomes = _outcomes(kind, mechanism, outcomes, spec.outcomes)
    if spec.race is not None and closes_at > spec.race.ends_at:
        raise errors.invalid("A race market closes by the race's end.", field="closes_at")
    state, subsidy = _initial_state(kind=kind, mechanism=mechanism, outcomes=outcomes, liquidity=liquidity,
                                    initial_probability=initial_probability, b=b, curve=curve)
    with calc():
        subsidy = subsidy.quantize(Decimal("1e-18"))
    market = Market(question=question, kind=kind, mechanism=mechanism, outcomes=outcomes, closes_at=closes_at,
                    resolves_by=spec.data, race=spec.race, initial_state=to_json(mechanism, state), subsidy=subsidy,
                    fee_pct=fee_pct_default(), created_by_id=created_by_id, is_generated=is_generated,
                    generation_key=generation_key, **columns_of(mechanism, state))
    market.save()
    events.market_event_on_commit(market.pk, "opened", {"question": market.question})
    return market


# --------------------------------------------------------------------------- trading


def parse_order(*, outcome, side, amount=None, shares=None) -> Order:
    """Check an order's shape (400s): one known side, exactly one of a whole amount > 0 or shares > 0."""
    if not isinstance(outcome, int) or isinstance(outcome, bool):
        raise errors.invalid("outcome is the outcome's index (0 for YES, 1 for NO).", field="outcome",
                             code="unknown_outcome")
    if side not in ("buy", "sell"):
        raise errors.invalid('side is "buy" or "sell".', field="side")
    if (amount is None) == (shares is None):
        raise errors.invalid("Give amount (points to spend) or shares, not both.", field="amount")
    if amount is not None:
        if side == "sell":
            raise errors.invalid("A sale is given in shares: send shares, not amount.", field="amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise errors.invalid("amount is a whole number of points above 0.", field="amount")
        if amount > 10 ** 12:
            raise errors.invalid("amount is too large.", field="amount")
        return Order(outcome=outcome, side=side, amount=amount)
    try:
        value = Decimal(str(shares)) if not isinstance(shares, bool) else None
    except ArithmeticError:
        value = None
    if value is None or not value.is_finite() or value <= 0 or value > Decimal(10) ** 12 \
            or value.as_tuple().exponent < -18:
        raise errors.invalid("shares is a number above 0 with at most 18 decimals.", field="shares")
    return Order(outcome=outcome, side=side, shares=value)


def _same_request(trade: MarketTrade, market_id: int, order: Order) -> bool:
    return (trade.market_id == market_id and trade.outcome == order.outcome and trade.kind == order.side
            and trade.amount == order.amount and (order.shares is None or trade.shares == order.shares))


def _replay(user_id: int, key: str, market_id: int, order: Order) -> MarketTrade | None:
    # No ORDER BY: the (user, key) unique index finds it; the model's ordering would scan trades.
    trade = next(iter(MarketTrade.objects.filter(user_id=user_id, idempotency_key=key).order_by()[:1]), None)
    if trade is None:
        return None
    if not _same_request(trade, market_id, order):
        raise errors.MarketRefused("This Idempotency-Key was already used for a different trade; use a new key.",
                                   code="idempotency_key_reused", status_code=422)
    trade.replayed = True
    trade.stops_fired = []
    return trade


def _check_open(market: Market, now: datetime) -> None:
    if market.state != Market.State.OPEN or market.closes_at <= now:
        raise errors.closed(market.state)


def _retrying(work):
    """Run ``work`` (one transaction); a deadlock (stop cascades lock other players' accounts
    after the trader's) rolls it back whole, and it runs again."""
    for attempt in range(DEADLOCK_RETRIES):
        try:
            return work()
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) not in ("40P01", "40001") or attempt == DEADLOCK_RETRIES - 1:
                raise
            log.info("market trade: %s, retrying", exc.__cause__.sqlstate)


def market_trade(*, user_id: int, market_id: int, order: Order, idempotency_key: str | None = None,
                 now: datetime | None = None) -> MarketTrade:
    """Execute ``order`` for the player. Returns the trade (``.replayed`` for a repeat of an
    Idempotency-Key, ``.stops_fired``: the stops it set off). Raises MarketRefused (4xx) with
    nothing written: unknown market or outcome, closed market, a dry pool, too few shares or points.

    The key is not looked up first: the trade's unique (player, key) refuses a second insert, and
    only then (or when the repeat would be refused: the market has closed since, the points are
    spent) is the first trade read back — a replay returns it, whatever the market is now."""
    if idempotency_key is not None and not 0 < len(idempotency_key) <= IDEMPOTENCY_KEY_MAX:
        raise errors.invalid(f"An Idempotency-Key has 1 to {IDEMPOTENCY_KEY_MAX} characters.",
                             field="idempotency_key")
    now = now or redis_now()

    def work() -> tuple[MarketTrade, execution.Book]:
        # The cursor first: Django's connection health check runs outside the transaction.
        with connection.cursor() as cursor, transaction.atomic():
            # The market row locked, then the player's position read (and locked) after the lock
            # is held: one round trip (execution.lock_for_trade).
            book, held = execution.lock_for_trade(market_id, user_id, order.outcome)
            _check_open(book.market, now)
            stops_before = book.market.active_stops
            fill = execution.fill_order(book, held, order)
            # No stop can fire: the fill is the last write, and its COMMIT goes with it (one round
            # trip less under the lock) when this block is the transaction (not nested in another).
            last = not book.market.active_stops and len(connection.atomic_blocks) == 1
            try:
                trade = execution.write_fill(cursor, book, user_id=user_id, held=held, fill=fill, now=now,
                                             key=idempotency_key, commit=last)
            except ledger.InsufficientPoints as exc:
                raise errors.MarketRefused(str(exc), code="insufficient_points") from None
            if book.market.active_stops:
                execution.run_stops(cursor, book, trade, now)
                execution.save_market(book, stops_before)
            events.trade_events_on_commit(book)
        return trade, book

    try:
        trade, book = _retrying(work)
    except (IntegrityError, errors.MarketRefused):
        # The same key again (or twice at once: the first one won), or a repeat the market or the
        # account would now refuse: the first trade stands. A key used for another trade: 422.
        if idempotency_key is not None and (first := _replay(user_id, idempotency_key, market_id, order)):
            return first
        raise
    trade.replayed = False
    trade.stops_fired = book.stops_fired
    return trade


# --------------------------------------------------------------------------- stops


def stop_create(*, user_id: int, market_id: int, outcome: int, trigger, shares=None,
                now: datetime | None = None) -> Stop:
    """A stop-loss on the player's position in ``outcome``: below the price for a long (sell
    when the price falls to ``trigger``), above it for a short (buy back when it rises to it)."""
    try:
        trigger = Decimal(str(trigger))
    except ArithmeticError:
        trigger = None
    if trigger is None or not trigger.is_finite() or not 0 < trigger < 1 or trigger.as_tuple().exponent < -18:
        raise errors.invalid("trigger is a price between 0 and 1 (exclusive).", field="trigger")
    quantity = None
    if shares is not None:
        quantity = parse_order(outcome=0, side="sell", shares=shares).shares
    now = now or redis_now()
    with transaction.atomic(), connection.cursor() as cursor:
        book = execution.lock_market(market_id)
        _check_open(book.market, now)
        market = book.market
        if not isinstance(outcome, int) or isinstance(outcome, bool) or not 0 <= outcome < len(market.outcomes):
            raise errors.invalid(f"Unknown outcome {outcome}.", field="outcome", code="unknown_outcome")
        held = execution.position_locked(cursor, market_id=market_id, user_id=user_id, outcome=outcome)
        if held.shares == 0:
            raise errors.MarketRefused("You hold no shares of this outcome to protect.", code="no_position")
        direction = Stop.Direction.BELOW if held.shares > 0 else Stop.Direction.ABOVE
        price = module_of(market.mechanism).probabilities(book.state)[outcome]
        if direction == Stop.Direction.BELOW and trigger >= price:
            raise errors.invalid(f"A stop on a long position is below the current price ({price:.4f}).",
                                 field="trigger")
        if direction == Stop.Direction.ABOVE and trigger <= price:
            raise errors.invalid(f"A stop on a short position is above the current price ({price:.4f}).",
                                 field="trigger")
        if quantity is not None and quantity > abs(held.shares):
            raise errors.invalid(f"You hold {abs(held.shares).normalize():f} shares.", field="shares")
        active = Stop.objects.filter(market_id=market_id, user_id=user_id, outcome=outcome,
                                     state=Stop.State.ACTIVE).count()
        if active >= MAX_STOPS_PER_POSITION:
            raise errors.MarketRefused(f"At most {MAX_STOPS_PER_POSITION} active stops per position.",
                                       code="too_many_stops")
        stop = Stop.objects.create(market_id=market_id, user_id=user_id, outcome=outcome, direction=direction,
                                   trigger=trigger, shares=quantity)
        Market.objects.filter(pk=market_id).update(active_stops=market.active_stops + 1)
    return stop


def stop_cancel(*, user_id: int, market_id: int, stop_id: int) -> bool:
    """Cancel one of the player's active stops; False when it is not active (or not theirs)."""
    with transaction.atomic():
        book = execution.lock_market(market_id)
        if Stop.objects.filter(pk=stop_id, market_id=market_id, user_id=user_id,
                               state=Stop.State.ACTIVE).update(state=Stop.State.CANCELLED,
                                                               reason="cancelled by the player") != 1:
            return False
        Market.objects.filter(pk=market_id).update(active_stops=book.market.active_stops - 1)
    return True


# --------------------------------------------------------------------------- liquidity


def market_add_liquidity(*, market_id: int, amount, by_user_id: int, now: datetime | None = None) -> MarketTrade:
    """Staff: ``amount`` more in both pools of a CPMM market, the probability kept; the
    house's subsidy grows by as much. Recorded in the market's trade ledger."""
    amount = _positive(amount, "amount")
    now = now or redis_now()
    with transaction.atomic():
        book = execution.lock_market(market_id)
        market = book.market
        _check_open(market, now)
        if market.mechanism != M.CPMM:
            raise errors.invalid("Liquidity is added to CPMM markets.", field="amount")
        before = cpmm.probabilities(book.state)
        book.state = cpmm.add_liquidity(book.state, amount)
        market.seq += 1
        trade = MarketTrade.objects.create(
            market_id=market.pk, seq=market.seq, user_id=by_user_id, kind=MarketTrade.Kind.LIQUIDITY, shares=amount,
            cost=amount, points=0, fee=0, cash=0, position_after=0, prob_before=list(before),
            prob_after=list(cpmm.probabilities(book.state)), state_after=to_json(market.mechanism, book.state),
            created_at=now)
        Market.objects.filter(pk=market.pk).update(subsidy=market.subsidy + amount, seq=market.seq,
                                                   **columns_of(market.mechanism, book.state))
        book.trades.append(trade)
        events.trade_events_on_commit(book)
    return trade
