"""The race page: the race with its horses, the player's bets, and the results once settled."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404

from apps.accounts.eligibility import eligible_q
from apps.bets.models import Bet
from apps.races.outcomes import PARTLY_RIGHT, RIGHT
from apps.races.models import Race, RaceEntry, RaceStanding, RaceTransition

MY_BETS_LIMIT = 50
RACE_BOARD_LIMIT = 50


def race_get(*, race_id: int) -> Race:
    """The race with its entries and their stocks in lane order (two queries), or 404."""
    entries = RaceEntry.objects.select_related("stock").order_by("lane")
    return get_object_or_404(Race.objects.prefetch_related(Prefetch("entries", queryset=entries)), pk=race_id)


def race_player_bets(*, race: Race, user) -> list[Bet]:
    if not user.is_authenticated:
        return []
    return list(Bet.objects.filter(race=race, user=user).order_by("-id")[:MY_BETS_LIMIT])


@dataclass(frozen=True)
class FinishLine:
    position: int
    symbol: str
    name: str
    open_price: Decimal | None
    close_price: Decimal | None
    change_pct: float | None


def race_finish_order(*, race: Race) -> list[FinishLine]:
    """The final order as locked by settlement (entries must be prefetched)."""
    lines = []
    for entry in race.entries.all():
        if entry.final_position is None:
            continue
        change = float(entry.pct_change) if entry.pct_change is not None else None
        lines.append(FinishLine(entry.final_position, entry.stock.symbol, entry.stock.name,
                                entry.open_price, entry.close_price, change))
    return sorted(lines, key=lambda line: line.position)


def race_leaderboard(*, race: Race) -> list[dict]:
    """The per-race leaderboard settlement wrote (RaceStanding), house and restricted accounts left out."""
    rows = (RaceStanding.objects.filter(eligible_q("user__"), race=race)
            .select_related("user").order_by("rank", "user_id")[:RACE_BOARD_LIMIT])
    return [{"rank": r.rank, "username": r.user.username, "staked": r.staked, "won": r.points_won,
             "net": r.points_won - r.staked, "bets": r.bets, "correct": r.wins} for r in rows]


def race_player_result(*, bets: list[Bet]) -> dict | None:
    """Totals of the player's settled bets in one race; the bets carry their ``outcome``
    (apps.web.game.attach_breakdowns): a partial podium pays, but counts as partly right, not correct."""
    if not bets:
        return None
    staked = sum(b.stake for b in bets)
    won = sum(b.payout for b in bets)
    outcomes = [getattr(b, "outcome", None) for b in bets]
    return {"staked": staked, "won": won, "net": won - staked, "bets": len(bets),
            "correct": outcomes.count(RIGHT), "partly": outcomes.count(PARTLY_RIGHT)}


def race_cancel_reason(*, race: Race) -> str:
    """Why the race was cancelled, as the lifecycle recorded it ("no opening price for GLD",
    "cancelled by staff (...)"); empty for a race that was not."""
    if race.state != Race.State.CANCELLED:
        return ""
    return (RaceTransition.objects.filter(race=race, to_state=Race.State.CANCELLED).order_by("-at", "-id")
            .values_list("cause", flat=True).first() or "")


def race_house_only(*, race: Race) -> bool:
    """True when the house bettors placed the race's only bets (the race board leaves them out)."""
    bets = Bet.objects.filter(race=race)
    return bets.filter(user__is_house=True).exists() and not bets.filter(user__is_house=False).exists()
