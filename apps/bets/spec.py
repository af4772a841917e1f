"""A bet's choice checked and normalised without any I/O (the first step of bet_place)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings

from apps.bets import errors, pricing
from apps.bets.models import Bet

PCT_QUANTUM = Decimal("0.001")  # Bet.low_pct / high_pct precision
# The widest bounds any bracket may have; each race narrows them to a range that makes sense for its
# duration and stocks (apps.bets.services.quote_bet).
BRACKET_MAX_PCT = Decimal(str(pricing.BRACKET_LIMIT_PCT))
BRACKET_MIN_PCT = -BRACKET_MAX_PCT


@dataclass(frozen=True)
class BetSpec:
    """Upper-case symbols, percentages at the stored precision."""

    kind: str
    stake: int
    symbol: str = ""
    low_pct: Decimal | None = None
    high_pct: Decimal | None = None
    podium: tuple[str, ...] | None = None

    @property
    def chosen(self) -> list[str]:
        """Every symbol the bet names."""
        return list(self.podium) if self.podium else [self.symbol]


def _pct(value, field: str) -> Decimal:
    try:
        pct = Decimal(str(value)).quantize(PCT_QUANTUM)
    except (InvalidOperation, ValueError, TypeError):
        raise errors.invalid(f"{field} must be a number (a % change such as 2.5).", field=field)
    if not pct.is_finite() or not BRACKET_MIN_PCT <= pct <= BRACKET_MAX_PCT:
        raise errors.invalid(f"{field} must be between {BRACKET_MIN_PCT}% and {BRACKET_MAX_PCT}%.", field=field)
    return pct


def _symbol(value, field: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 16:
        raise errors.invalid("Name a stock of this race (its symbol, e.g. AAPL).", field=field)
    return value.strip().upper()


def bet_spec(*, kind, stake, symbol=None, low_pct=None, high_pct=None, symbols=None) -> BetSpec:
    """Check a bet's shape and normalise it; raises BetRefused (400) on bad input."""
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
        if high - low < pricing.BRACKET_MIN_WIDTH_PCT:
            raise errors.invalid(f"high_pct must be above low_pct by at least {pricing.BRACKET_MIN_WIDTH_PCT} "
                                 f"points (you gave {low}% to {high}%).", field="high_pct")
        return BetSpec(kind=kind, stake=stake, symbol=_symbol(symbol, "symbol"), low_pct=low, high_pct=high)
    if not isinstance(symbols, (list, tuple)) or len(symbols) != 3:
        raise errors.invalid("A podium bet names three stocks, first to third.", field="symbols")
    podium = tuple(_symbol(s, "symbols") for s in symbols)
    if len(set(podium)) != 3:
        raise errors.invalid("A podium bet names three different stocks.", field="symbols")
    return BetSpec(kind=kind, stake=stake, podium=podium)
