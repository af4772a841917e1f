"""Badge API shapes (for the API schema; the views serialise apps.badges.selectors.ShowcaseBadge)."""
from rest_framework import serializers


class ShowcaseBadgeSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    icon = serializers.CharField(help_text="An emoji.")
    rarity = serializers.ChoiceField(choices=["common", "rare", "epic", "legendary"])
    reward = serializers.IntegerField(help_text="Points credited once when earned.")
    earned = serializers.BooleanField()
    awarded_at = serializers.DateTimeField(allow_null=True)
    race_id = serializers.IntegerField(allow_null=True, help_text="The race it was earned in.")


class ShowcaseSerializer(serializers.Serializer):
    username = serializers.CharField()
    count = serializers.IntegerField(help_text="Badges listed (every active badge, and retired ones held).")
    earned = serializers.IntegerField()
    results = ShowcaseBadgeSerializer(many=True)
