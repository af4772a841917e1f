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

    class Meta:
        model = LedgerEntry
        fields = ["id", "created_at", "kind", "amount", "balance_after", "race", "bet", "memo"]
