"""Badge reads: a player's showcase (every badge, earned or not), for the profile page and the API."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import OuterRef, Q, Subquery

from apps.badges.catalog import TIER_RANK
from apps.badges.models import Badge, UserBadge


@dataclass(frozen=True)
class ShowcaseBadge:
    code: str
    name: str
    description: str
    icon: str
    rarity: str
    reward: int
    earned: bool
    awarded_at: datetime | None
    race_id: int | None


def badge_showcase(*, user_id: int) -> list[ShowcaseBadge]:
    """Every active badge plus any retired one the player holds (one query): earned ones first,
    rarest and then newest first, then the locked ones in catalog order."""
    held = UserBadge.objects.filter(user_id=user_id, badge=OuterRef("pk"))
    rows = (Badge.objects
            .annotate(awarded_at=Subquery(held.values("awarded_at")[:1]), award_race=Subquery(held.values("race_id")[:1]))
            .filter(Q(active=True) | Q(awarded_at__isnull=False))
            .values_list("code", "name", "description", "icon", "tier", "reward", "awarded_at", "award_race",
                         "position"))
    badges = [(position, ShowcaseBadge(code=code, name=name, description=description, icon=icon, rarity=tier,
                                       reward=reward, earned=awarded_at is not None, awarded_at=awarded_at,
                                       race_id=race_id))
              for code, name, description, icon, tier, reward, awarded_at, race_id, position in rows]
    earned = sorted((b for _, b in badges if b.earned),
                    key=lambda b: (-TIER_RANK.get(b.rarity, 0), -b.awarded_at.timestamp()))
    locked = [b for _, b in sorted(((p, b) for p, b in badges if not b.earned), key=lambda pb: pb[0])]
    return earned + locked


def user_badges(*, user) -> list[ShowcaseBadge]:
    """The profile page's showcase (apps.web.selectors.players.player_badges)."""
    return badge_showcase(user_id=user.pk)
