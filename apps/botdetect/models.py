"""Fair play: what was seen of each player, their suspicion, staff decisions and the blocklist.

docs/FAIRPLAY.md explains the signals, weights and thresholds. PostgreSQL holds everything a
score is computed from (sightings, sign-ups, copy matches, and the bets and races themselves),
so any score can be recomputed (``manage.py botdetect_rescore``).
"""
from django.conf import settings
from django.db import models


class Sighting(models.Model):
    """One address, network, device fingerprint or client fingerprint seen for a player, with
    when and how often: the raw material of "accounts sharing a device or an address"."""

    class Kind(models.TextChoices):
        ADDRESS = "address"
        NETWORK = "network"
        DEVICE = "device"
        CLIENT = "client"  # request fingerprint: header names in order, user agent, languages, route

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    value = models.CharField(max_length=100)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    hits = models.PositiveIntegerField(default=1)
    # For CLIENT: {"ua", "languages", "headers", "via"} as first seen.
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind", "value"], name="sighting_once_per_value")]
        # Linked accounts: everyone else seen with the same value.
        indexes = [models.Index(fields=["kind", "value"], name="sighting_by_value")]


class SignupRecord(models.Model):
    """How an account was created: the sign-up burst heuristic and the blocklist read these."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="+")
    at = models.DateTimeField()
    address = models.GenericIPAddressField(null=True, blank=True)
    network = models.CharField(max_length=50, blank=True)
    device = models.CharField(max_length=64, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    languages = models.CharField(max_length=100, blank=True)
    headers_hash = models.CharField(max_length=16, blank=True)
    via = models.CharField(max_length=4)
    # Accounts created from this address or device within the burst window, this one included.
    burst_size = models.PositiveIntegerField(default=1)

    class Meta:
        # Sign-up bursts: recent sign-ups from one address, or one device.
        indexes = [models.Index(fields=["address", "at"], name="signup_by_address"),
                   models.Index(fields=["device", "at"], name="signup_by_device")]


class CopyMatch(models.Model):
    """Two players placed the same bet (race, kind, pick, stake) within seconds of each other;
    written once per settled race (``ProcessedRace``)."""

    race_id = models.BigIntegerField()
    user_lo = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    user_hi = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "copy matches"
        constraints = [models.UniqueConstraint(fields=["race_id", "user_lo", "user_hi"], name="copy_match_once")]
        indexes = [models.Index(fields=["user_lo", "at"], name="copy_match_lo"),
                   models.Index(fields=["user_hi", "at"], name="copy_match_hi")]


class ProcessedRace(models.Model):
    """A settled race whose bets were compared for copies (claimed by insert: once per race)."""

    race_id = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField(auto_now_add=True)


class Suspicion(models.Model):
    """A player's current score and standing in the review queue."""

    class Status(models.TextChoices):
        NONE = "none"  # below the review threshold, never decided
        QUEUED = "queued"  # waiting for staff
        RESTRICTED = "restricted"  # shadow-restricted (automatically or by staff), waiting or decided
        CLEARED = "cleared"  # staff cleared it: flagged again only for new evidence
        BANNED = "banned"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="suspicion")
    score = models.FloatField(default=0)
    kinds = models.PositiveSmallIntegerField(default=0)  # independent signal families that count
    families = models.JSONField(default=dict, blank=True)  # family -> points
    signals = models.JSONField(default=list, blank=True)  # [{kind, family, strength, points, summary, evidence}]
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NONE)
    decided = models.BooleanField(default=False)  # staff decided since the account was last queued
    computed_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    restricted_at = models.DateTimeField(null=True, blank=True)
    # Evidence staff cleared: signals count only what came after (bets, matches, sign-ups after
    # cleared_at; accounts not in cleared_links).
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_links = models.JSONField(default=list, blank=True)

    class Meta:
        # The review queue: open cases by score.
        indexes = [models.Index(fields=["status", "-score"], name="suspicion_queue")]
        verbose_name_plural = "suspicions"

    def __str__(self) -> str:
        return f"{self.user_id}: {self.score:.0f} ({self.status})"


class Decision(models.Model):
    """The audit trail: every automatic restriction and queueing, and every staff decision, with
    who, when, why, the score at the time and the held points it moved. Append-only."""

    class Action(models.TextChoices):
        QUEUE = "queue"  # automatic: above the review threshold
        AUTO_RESTRICT = "auto_restrict"  # automatic: above the action threshold, two kinds of signal
        CLEAR = "clear"
        RESTRICT = "restrict"  # staff: keep (or make) restricted
        BAN = "ban"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="fairplay_decisions")
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+")
    action = models.CharField(max_length=14, choices=Action.choices)
    reason = models.CharField(max_length=500)
    score = models.FloatField()
    points_moved = models.BigIntegerField(default=0)  # held points released (clear) or burned (ban)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "-at"], name="decision_by_user")]


class Blocklist(models.Model):
    """Devices and addresses of banned accounts: no new sign-ups from them."""

    class Kind(models.TextChoices):
        ADDRESS = "address"
        DEVICE = "device"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    value = models.CharField(max_length=100)
    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="blocklist_once")]
