"""Race reads shaped for the API: the lobby list and one race with its entries and results."""
from __future__ import annotations

from decimal import Decimal

from django.db.models import Prefetch, QuerySet

from apps.bets.selectors import race_odds
from apps.races import scoring
from apps.races.models import Race, RaceEntry, RaceTransition


def race_list(*, state: str | None = None, duration: str | None = None, theme: str | None = None) -> QuerySet[Race]:
    """Races for the lobby, soonest start first, with their stocks (2 queries per page)."""
    races = Race.objects.prefetch_related(
        Prefetch("entries", queryset=RaceEntry.objects.select_related("stock").order_by("lane")))
    if state:
        races = races.filter(state=state)
    if duration:
        races = races.filter(duration=duration)
    if theme:
        races = races.filter(theme=theme)
    return races.order_by("starts_at", "id")


def race_detail(*, race_id: int) -> Race:
    """One race with entries and transitions (3 queries). Raises Race.DoesNotExist."""
    return (Race.objects.prefetch_related(
        Prefetch("entries", queryset=RaceEntry.objects.select_related("stock").order_by("lane")),
        Prefetch("transitions", queryset=RaceTransition.objects.order_by("at", "id")),
    ).get(pk=race_id))


def race_odds_or_none(race: Race) -> dict[str, Decimal] | None:
    """Published winner odds from the bets app; None before the betting window opens."""
    if race.state == Race.State.SCHEDULED:
        return None
    return race_odds(race)


def race_result(race: Race) -> scoring.RaceResult | None:
    """What settlement scored a race against (its locked results); None before they are locked."""
    rows = list(RaceEntry.objects.filter(race=race).values_list("stock__symbol", "pct_change", "final_position"))
    if not rows or any(pct is None or position is None for _, pct, position in rows):
        return None
    return scoring.RaceResult(
        pct={symbol: float(pct) for symbol, pct, _ in rows},
        order=tuple(symbol for symbol, _, _ in sorted(rows, key=lambda r: r[2])),
        participants=race.participants,
        window_seconds=(race.starts_at - race.betting_opens_at).total_seconds(),
    )


def race_results(race_ids) -> dict[int, scoring.RaceResult]:
    """The locked results of several races in one query, {race_id: RaceResult} (races without
    locked results are left out)."""
    rows: dict[int, list] = {}
    meta: dict[int, tuple] = {}
    for race_id, symbol, pct, position, participants, opens, starts in (
            RaceEntry.objects.filter(race_id__in=list(race_ids))
            .values_list("race_id", "stock__symbol", "pct_change", "final_position", "race__participants",
                         "race__betting_opens_at", "race__starts_at")):
        rows.setdefault(race_id, []).append((symbol, pct, position))
        meta[race_id] = (participants, (starts - opens).total_seconds())
    out = {}
    for race_id, entries in rows.items():
        if any(pct is None or position is None for _, pct, position in entries):
            continue
        participants, window = meta[race_id]
        out[race_id] = scoring.RaceResult(
            pct={symbol: float(pct) for symbol, pct, _ in entries},
            order=tuple(symbol for symbol, _, _ in sorted(entries, key=lambda r: r[2])),
            participants=participants, window_seconds=window)
    return out


def bet_breakdown(bet, result: scoring.RaceResult | None = None) -> dict | None:
    """How a settled bet's payout was computed (docs/SCORING.md): every factor, in the order they
    multiply, and the total: stake × odds × accuracy × timing × participants × streak = total, and
    the payout is the total rounded down.

    Scoring is deterministic, so the breakdown is recomputed from the bet, the race's locked
    results and the streak stored at settlement rather than stored per bet; its payout equals the
    stored one (tests/races/test_settlement_sql_matches_scoring.py). None for a bet that is not
    settled (open or refunded). A bet settled under the rules before the current economy (whose
    stored payout the current rules do not reproduce) gets ``{"payout": …, "legacy": True}``.
    """
    if bet.status not in ("won", "lost"):
        return None
    result = result or race_result(bet.race)
    if result is None:
        return None
    payout, breakdown = scoring.bet_score(scoring.BetInput(
        kind=bet.kind, stake=bet.stake, odds=float(bet.odds), symbol=bet.symbol,
        low_pct=scoring.to_float(bet.low_pct), high_pct=scoring.to_float(bet.high_pct),
        podium=tuple(bet.podium) if bet.podium else None, timing=bet.timing, streak=bet.streak_before), result)
    if payout != bet.payout:
        return {"payout": bet.payout, "legacy": True}
    return {**breakdown, "payout": payout, "max_payout": bet.potential_payout}
