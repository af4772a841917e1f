"""The race page: the race with its horses, the player's bets, and the results once settled."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Prefetch, Q, Sum
from django.shortcuts import get_object_or_404

from apps.bets.models import Bet
from apps.races.models import Race, RaceEntry

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
        change = None
        if entry.open_price and entry.close_price:
            change = float((entry.close_price - entry.open_price) / entry.open_price * 100)
        lines.append(FinishLine(entry.final_position, entry.stock.symbol, entry.stock.name,
                                entry.open_price, entry.close_price, change))
    return sorted(lines, key=lambda line: line.position)


def race_leaderboard(*, race: Race) -> list[dict]:
    """Everyone who bet in the race, best payout first (house and restricted accounts left out)."""
    rows = (Bet.objects.filter(race=race, user__is_house=False, user__is_shadow_restricted=False)
            .values("user__username")
            .annotate(staked=Sum("stake"), won=Sum("payout"), bets=Count("id"),
                      correct=Count("id", filter=Q(status=Bet.Status.WON)))
            .order_by("-won", "user__username")[:RACE_BOARD_LIMIT])
    return [{"rank": i, "username": r["user__username"], "staked": r["staked"], "won": r["won"],
             "net": r["won"] - r["staked"], "bets": r["bets"], "correct": r["correct"]}
            for i, r in enumerate(rows, start=1)]


def race_player_result(*, bets: list[Bet]) -> dict | None:
    """Totals of the player's settled bets in one race."""
    if not bets:
        return None
    staked = sum(b.stake for b in bets)
    won = sum(b.payout for b in bets)
    return {"staked": staked, "won": won, "net": won - staked,
            "correct": sum(1 for b in bets if b.status == Bet.Status.WON), "bets": len(bets)}
