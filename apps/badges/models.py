"""Badges: the catalog (defined in apps.badges.catalog, synced into ``Badge``) and who earned what.

A badge is earned once per player (``UserBadge`` is unique per player and badge); its reward is
a ``badge_reward`` ledger entry with the idempotency key ``badge:{code}:{user_id}``, written in
the same transaction as the award (apps.badges.services).
"""
from django.conf import settings
from django.db import models


class Badge(models.Model):
    class Tier(models.TextChoices):
        COMMON = "common"
        RARE = "rare"
        EPIC = "epic"
        LEGENDARY = "legendary"

    # Code, icon, tier, position and the rule belong to the code (apps.badges.catalog); staff
    # may edit name, description, reward and the active flag in the admin.
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=200)
    icon = models.CharField(max_length=16, help_text="An emoji shown on the badge.")
    tier = models.CharField(max_length=10, choices=Tier.choices)
    reward = models.PositiveIntegerField(default=0, help_text="Points credited once, when a player earns it.")
    # Inactive badges are no longer awarded (and are hidden from players who have not earned them).
    active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)  # display order of the catalog

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.icon} {self.name}"


class UserBadge(models.Model):
    """One badge earned by one player: when, and in which race."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="badges",
                             db_index=False)  # the unique (user, badge) index serves every lookup by user
    badge = models.ForeignKey(Badge, on_delete=models.PROTECT, related_name="holders")
    awarded_at = models.DateTimeField()  # Redis time, like every game time
    race = models.ForeignKey("races.Race", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-awarded_at", "-id"]
        constraints = [
            # The ON CONFLICT target of the award: a badge is earned once, however many runs race.
            models.UniqueConstraint(fields=["user", "badge"], name="user_badge_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.badge_id}"
