"""Bet request parsing and the one JSON shape of a bet (API responses and live events)."""
from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from apps.bets.models import Bet


class BetRequestSerializer(serializers.Serializer):
    """Types only; the rules (kinds' fields, bounds, the race's symbols) live in services.bet_place."""

    kind = serializers.CharField(max_length=16, help_text="winner, bracket or podium")
    stake = serializers.IntegerField(max_value=10**12, help_text="points to stake (a whole number)")
    symbol = serializers.CharField(max_length=16, required=False, help_text="winner and bracket bets")
    low_pct = serializers.DecimalField(max_digits=12, decimal_places=6, required=False,
                                       help_text="bracket: lowest % change (inclusive)")
    high_pct = serializers.DecimalField(max_digits=12, decimal_places=6, required=False,
                                        help_text="bracket: highest % change (exclusive)")
    symbols = serializers.ListField(child=serializers.CharField(max_length=16), max_length=8, required=False,
                                    help_text="podium: three symbols, first to third")

    def validate(self, attrs):
        misplaced = {"winner": ("low_pct", "high_pct", "symbols"), "bracket": ("symbols",),
                     "podium": ("symbol", "low_pct", "high_pct")}.get(attrs["kind"], ())
        extra = {f: [f"{f} is not part of a {attrs['kind']} bet."] for f in misplaced if f in attrs}
        if extra:
            raise serializers.ValidationError(extra)
        return attrs


def _pct(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def bet_representation(bet: Bet) -> dict:
    """The bet as players see it. A replayed POST returns exactly this again, so every value is
    rendered from what is stored (odds to the cent, percentages as numbers)."""
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
        "payout": bet.payout,
    }


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
    status = serializers.ChoiceField(choices=Bet.Status.choices)
    payout = serializers.IntegerField()

    def to_representation(self, instance):
        return bet_representation(instance)
