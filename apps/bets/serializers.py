"""Bet request parsing and the one JSON shape of a bet (API responses and live events)."""
from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from apps.bets.models import Bet
from apps.races import outcomes


FIELDS_OF_KIND = {"winner": ("symbol",), "bracket": ("symbol", "low_pct", "high_pct"), "podium": ("symbols",)}
OPTIONAL_FIELDS = ("symbol", "low_pct", "high_pct", "symbols")


class BetRequestSerializer(serializers.Serializer):
    """The request body, for the OpenAPI document; ``parse_bet_request`` checks it on the hot path."""

    kind = serializers.ChoiceField(choices=Bet.Kind.choices)
    stake = serializers.IntegerField(help_text="points to stake (a whole number)")
    symbol = serializers.CharField(max_length=16, required=False, help_text="winner and bracket bets")
    low_pct = serializers.FloatField(required=False, help_text="bracket: lowest % change (inclusive)")
    high_pct = serializers.FloatField(required=False, help_text="bracket: highest % change (inclusive)")
    symbols = serializers.ListField(child=serializers.CharField(max_length=16), required=False,
                                    help_text="podium: three symbols, first to third")


def _number(value) -> bool:
    return isinstance(value, (int, float, str)) and not isinstance(value, bool)


def parse_bet_request(data) -> dict:
    """Types of the JSON body, as keyword arguments for bet_place; raises ValidationError (400).

    A plain function rather than a DRF serializer: bet placement is the hottest write path and
    a serializer costs about a millisecond per request. The rules live in bet_place.
    """
    if not isinstance(data, dict):
        raise serializers.ValidationError("The body is a JSON object such as "
                                          '{"kind": "winner", "stake": 50, "symbol": "AAPL"}.')
    errors: dict[str, list[str]] = {}
    for field in ("kind", "stake"):
        if field not in data:
            errors[field] = ["This field is required."]
    kind, stake = data.get("kind"), data.get("stake")
    if "kind" in data and not isinstance(kind, str):
        errors["kind"] = ["Choose winner, bracket or podium."]
    if "stake" in data and (isinstance(stake, bool) or not isinstance(stake, int) or abs(stake) > 10**12):
        errors["stake"] = ["The stake is a whole number of points."]
    for field in ("low_pct", "high_pct"):
        if data.get(field) is not None and not _number(data[field]):
            errors[field] = ["A number is required (a % change such as 2.5)."]
    if data.get("symbol") is not None and not isinstance(data["symbol"], str):
        errors["symbol"] = ["A symbol is text, such as AAPL."]
    if data.get("symbols") is not None and not (isinstance(data["symbols"], list)
                                                 and all(isinstance(s, str) for s in data["symbols"])):
        errors["symbols"] = ["A list of symbols is required, such as [\"AAPL\", \"MSFT\", \"TSLA\"]."]
    if isinstance(kind, str) and kind in FIELDS_OF_KIND:
        for field in OPTIONAL_FIELDS:
            if field not in FIELDS_OF_KIND[kind] and data.get(field) is not None:
                errors[field] = [f"{field} is not part of a {kind} bet."]
    if errors:
        raise serializers.ValidationError(errors)
    return {"kind": kind, "stake": stake, **{f: data.get(f) for f in OPTIONAL_FIELDS}}


def _pct(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def bet_representation(bet: Bet, result=None) -> dict:
    """The bet as players see it. A replayed POST returns exactly this again, so every value is
    rendered from what is stored (odds to the cent, percentages as numbers).

    ``potential_payout`` is the most the bet can pay (apps.bets.pricing.Quote.potential_payout);
    ``outcome``, once settled, whether the pick was right, partly right (a podium paying a share: its
    status is ``won`` since it paid) or wrong (apps.races.outcomes);
    ``breakdown``, once the bet is settled, how its payout was computed
    (apps.races.selectors.bet_breakdown). Pass the race's ``result`` (a scoring.RaceResult) when
    rendering many settled bets, so that it is read once per race.
    """
    breakdown = outcome = None
    if bet.status in (Bet.Status.WON, Bet.Status.LOST):
        from apps.races.selectors import bet_breakdown, race_result

        result = result or race_result(bet.race)
        breakdown = bet_breakdown(bet, result)
        outcome = outcomes.bet_outcome(kind=bet.kind, status=bet.status, podium=bet.podium, result=result)
    return {
        "id": bet.pk,
        "race": bet.race_id,
        "kind": bet.kind,
        "stake": bet.stake,
        "symbol": bet.symbol or None,
        "low_pct": _pct(bet.low_pct),
        "high_pct": _pct(bet.high_pct),
        "symbols": list(bet.podium) if bet.podium else None,
        "odds": f"{bet.odds:.2f}",
        "potential_payout": bet.potential_payout,
        "placed_at": bet.placed_at.isoformat().replace("+00:00", "Z"),
        "status": bet.status,
        "outcome": outcome,
        "payout": bet.payout,
        "timing": bet.timing,
        "breakdown": breakdown,
    }


class BetBreakdownSerializer(serializers.Serializer):
    """stake × odds × accuracy × timing × participants × streak = total; payout = floor(total)."""

    stake = serializers.IntegerField()
    odds = serializers.FloatField()
    accuracy = serializers.FloatField(help_text="1 for a correct pick, a share for a partial podium, 0 for a miss")
    timing = serializers.FloatField(help_text="early-bet factor, fixed when the bet was placed")
    participants = serializers.FloatField(help_text="larger races pay a little more")
    streak = serializers.FloatField(help_text="consecutive races with every winner pick right")
    total = serializers.FloatField()
    payout = serializers.IntegerField()
    max_payout = serializers.IntegerField(help_text="the most the bet could pay, shown when it was placed")
    legacy = serializers.BooleanField(required=False, help_text="settled under the rules before the current economy")


class BetSerializer(serializers.Serializer):
    """Schema of ``bet_representation`` for the OpenAPI document."""

    id = serializers.IntegerField()
    race = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Bet.Kind.choices)
    stake = serializers.IntegerField()
    symbol = serializers.CharField(allow_null=True)
    low_pct = serializers.FloatField(allow_null=True)
    high_pct = serializers.FloatField(allow_null=True)
    symbols = serializers.ListField(child=serializers.CharField(), allow_null=True)
    odds = serializers.DecimalField(max_digits=10, decimal_places=2)
    potential_payout = serializers.IntegerField()
    placed_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=Bet.Status.choices, help_text="won: the bet paid (a partial podium too)")
    outcome = serializers.ChoiceField(choices=outcomes.CHOICES, allow_null=True,
                                      help_text="once settled: right (fully), partly_right (a podium paying a "
                                                "share of its odds) or wrong")
    payout = serializers.IntegerField()
    timing = serializers.FloatField(help_text="the early-bet factor fixed when the bet was placed")
    breakdown = BetBreakdownSerializer(allow_null=True, help_text="how the payout was computed, once settled")

    def to_representation(self, instance):
        results = self.context.get("race_results") or {}
        return bet_representation(instance, results.get(instance.race_id))
