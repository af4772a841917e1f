"""Whether a settled bet was right, partly right or wrong: the one definition, in Python for the
pages and the bet API and in SQL for the rules that count correct bets (badges, profile stats).

A partial podium pays a share of its odds (apps.races.scoring.accuracy between 0 and 1), so its
status is ``won`` — it paid — but it is no correct call: "right" means accuracy 1 (the winner, a
bracket that held the move, the exact podium order). Settlement's standings count the same
(``wins``: bets with accuracy 1, apps.races.settlement); tests/races/test_outcomes.py checks the
three definitions agree bet for bet.
"""
from __future__ import annotations

from apps.races import scoring

RIGHT = "right"
PARTLY_RIGHT = "partly_right"
WRONG = "wrong"
CHOICES = ((RIGHT, "right"), (PARTLY_RIGHT, "partly right"), (WRONG, "wrong"))


def bet_outcome(*, kind: str, status: str, podium, result: scoring.RaceResult | None) -> str | None:
    """right, partly_right or wrong for a settled (won or lost) bet; None for an open or refunded one.

    A winner or bracket bet pays only when it is right, so its status says it. A podium that paid
    is right only in the exact order; ``result`` (the race's locked results) tells, and without
    it a paying podium counts as partly right rather than claim more than is known.
    """
    if status == "lost":
        return WRONG
    if status != "won":
        return None
    if kind != "podium":
        return RIGHT
    if result is not None and tuple(podium or ()) == tuple(result.order[:3]):
        return RIGHT
    return PARTLY_RIGHT


def right_sql(bet: str = "b") -> str:
    """SQL, true when the settled bet row ``bet`` (an alias of bets_bet) was fully right."""
    return (f"({bet}.status = 'won' AND ({bet}.kind <> 'podium' OR {bet}.podium = ("
            f"SELECT array_agg(s.symbol ORDER BY e.final_position) FROM races_raceentry e"
            f" JOIN market_stock s ON s.id = e.stock_id"
            f" WHERE e.race_id = {bet}.race_id AND e.final_position <= 3)))")
