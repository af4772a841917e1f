"""The one place the player pages reach into the game core (apps.bets, apps.races).

Views call these thin wrappers so that the shape the templates need (odds per symbol, a
payout preview, a refusal message) is decided once; every rule stays in the game apps.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from apps.bets import errors
from apps.bets import services
from apps.bets.selectors import race_odds
from apps.bets.throttles import bet_preflight
from apps.core.observe import ClientInfo, observe_bet
from apps.races.models import Race
from apps.races.outcomes import bet_outcome
from apps.races.selectors import bet_breakdown, race_result, race_results


class BetRefused(Exception):
    """The game refused the bet; ``str(exc)`` is the reason a player understands."""

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Preview:
    odds: Decimal | None
    payout: int | None  # the most the bet can pay (a true maximum)
    note: str = ""
    base: int | None = None  # what a correct pick pays before the participants and streak factors
    chance: float | None = None  # the model's chance that the pick is fully right
    timing: float | None = None  # the early-bet factor the bet would get now
    kind: str = ""


def winner_odds(*, race: Race) -> dict[str, Decimal]:
    """The race's published winner odds per symbol; empty before betting opens (viewing a race
    never publishes them)."""
    return race_odds(race) or {}


def attach_breakdowns(*, bets: list, race: Race) -> None:
    """Give each settled bet of one race its ``breakdown``: the factors of its payout and how they
    multiply (apps.races.selectors.bet_breakdown; the race's results read once), and its ``outcome``
    (right, partly_right or wrong: apps.races.outcomes)."""
    result = race_result(race)
    for bet in bets:
        bet.breakdown = bet_breakdown(bet, result) if result is not None else None
        bet.outcome = bet_outcome(kind=bet.kind, status=bet.status, podium=bet.podium, result=result)


def attach_outcomes(*, bets: list) -> None:
    """Give each bet of any races its ``outcome`` (apps.races.outcomes); only paying podiums need
    their race's results, read in one query."""
    race_ids = {bet.race_id for bet in bets if bet.kind == "podium" and bet.status == "won"}
    results = race_results(race_ids) if race_ids else {}
    for bet in bets:
        bet.outcome = bet_outcome(kind=bet.kind, status=bet.status, podium=bet.podium,
                                  result=results.get(bet.race_id))


def bet_preview(*, race: Race, args: dict) -> Preview:
    """Odds, chance and the most a bet can pay if placed now: the very quote bet_place fixes."""
    try:
        quote = services.bet_preview(race_id=race.pk, **args)
    except errors.BetRefused as exc:
        return Preview(None, None, str(exc.detail))
    return Preview(quote["odds"], quote["potential_payout"], base=quote["base_payout"], chance=quote["chance"],
                   timing=quote["timing"], kind=quote["kind"])


def bet_place(*, user, race: Race, args: dict, client: ClientInfo, idempotency_key: str | None):
    """Place the bet as the API does — the same rate limits per player and per address (one
    preflight, apps.bets.throttles), then apps.bets.services.bet_place — and record it for fair
    play; a refusal becomes BetRefused with its reason."""
    try:
        preflight = bet_preflight(race_id=race.pk, user_id=user.pk, ip=client.address)
        if preflight.wait > 0:
            raise errors.rate_limited(preflight.wait)
        bet = services.bet_place(user=user, race_id=race.pk, client_ip=client.address, preflight=preflight,
                                 idempotency_key=idempotency_key, **args)
    except errors.BetRefused as exc:
        raise BetRefused(str(exc.detail), status=exc.status_code) from exc
    if not bet.replayed:
        observe_bet(user_id=bet.user_id, bet_id=bet.pk, info=client)
    return bet
