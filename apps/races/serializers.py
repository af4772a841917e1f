"""Race API representations."""
from __future__ import annotations

from rest_framework import serializers

from apps.races.models import Race, RaceEntry, RaceTransition
from apps.races.themes import theme_label


class EntrySerializer(serializers.ModelSerializer):
    symbol = serializers.CharField(source="stock.symbol")
    name = serializers.CharField(source="stock.name")
    sector = serializers.CharField(source="stock.sector")

    class Meta:
        model = RaceEntry
        fields = ["lane", "symbol", "name", "sector", "open_price", "close_price", "pct_change", "final_position"]


class TransitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = RaceTransition
        fields = ["from_state", "to_state", "at", "cause"]


class RaceSerializer(serializers.ModelSerializer):
    theme_label = serializers.SerializerMethodField()
    stocks = EntrySerializer(source="entries", many=True)

    class Meta:
        model = Race
        fields = ["id", "title", "theme", "theme_label", "duration", "state", "betting_opens_at", "starts_at",
                  "ends_at", "settled_at", "participants", "stocks"]

    def get_theme_label(self, race: Race) -> str:
        return theme_label(race.theme)


class RaceDetailSerializer(RaceSerializer):
    transitions = TransitionSerializer(many=True)
    odds = serializers.SerializerMethodField()
    results = serializers.SerializerMethodField()
    needs_review = serializers.BooleanField()

    class Meta(RaceSerializer.Meta):
        fields = RaceSerializer.Meta.fields + ["odds", "transitions", "results", "needs_review"]

    def get_odds(self, race: Race) -> dict | None:
        odds = self.context.get("odds")
        return {s: str(o) for s, o in odds.items()} if odds is not None else None

    def get_results(self, race: Race) -> list | None:
        """The finishing order once the race is settled."""
        if race.state != Race.State.COMPLETED:
            return None
        entries = sorted(race.entries.all(), key=lambda e: e.final_position or 99)
        return [{"position": e.final_position, "symbol": e.stock.symbol,
                 "pct_change": str(e.pct_change) if e.pct_change is not None else None} for e in entries]
