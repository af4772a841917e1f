"""Leaderboard API shapes (for the API schema; the views build plain dicts)."""
from rest_framework import serializers


class LeaderboardRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    user_id = serializers.IntegerField()
    username = serializers.CharField()
    points = serializers.IntegerField(help_text="Points won (payouts) on this board and period.")
    streak = serializers.IntegerField(help_text="Current run of races with a correct winner pick.")
    best_streak = serializers.IntegerField()


class LeaderboardPageSerializer(serializers.Serializer):
    board = serializers.CharField()
    period = serializers.CharField(help_text='"" for global, "2026-W47" weekly, "2026-11" monthly, the race id.')
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = LeaderboardRowSerializer(many=True)
