"""JSON shapes of the points API."""
from rest_framework import serializers

from apps.points.models import LedgerEntry


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    balance = serializers.IntegerField()
    streak = serializers.IntegerField(help_text="consecutive settled races with a correct winner pick")
    best_streak = serializers.IntegerField()
    rank = serializers.IntegerField(allow_null=True, help_text="all-time leaderboard rank; null when unranked")


class LedgerEntrySerializer(serializers.ModelSerializer):
    bet = serializers.IntegerField(source="bet_id", allow_null=True)
    race = serializers.IntegerField(source="race_id", allow_null=True)
    balance_after = serializers.SerializerMethodField()

    class Meta:
        model = LedgerEntry
        fields = ["id", "created_at", "kind", "amount", "balance_after", "race", "bet", "memo"]

    def get_balance_after(self, entry) -> int:
        # A restricted player's own statement shows balances with their held points (points.selectors).
        return getattr(entry, "shown_balance_after", entry.balance_after)
