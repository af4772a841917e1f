"""Badge writes: syncing the catalog, and awarding one completed race's badges with their rewards.

``badges_evaluate_race`` is one short transaction per race:

1. one statement evaluates every active rule and inserts the qualifying (player, badge) pairs
   with ``INSERT … ON CONFLICT (user, badge) DO NOTHING RETURNING`` — only the rows it
   actually inserted are new awards;
2. the points accounts of the new holders are locked in user id order (as settlement locks
   them), then one statement writes a ``badge_reward`` ledger entry per award
   (``badge:{code}:{user_id}``, ON CONFLICT DO NOTHING) and credits each balance by the sum of
   the entries it inserted;
3. a ``badge_unlocked`` event per award is queued for the player's /ws/me/ channel, published
   only after the commit.

Two evaluations of the same race at once: the second waits on the first's uncommitted award
rows, then finds them taken and awards (and pays) nothing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction

from apps.badges import catalog, rules
from apps.badges.models import Badge
from apps.points import ledger
from apps.core.redis import redis_now
from apps.core.events import user_event_on_commit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Award:
    user_id: int
    badge_id: int


@dataclass(frozen=True)
class RaceBadges:
    race_id: int
    awards: list[Award] = field(default_factory=list)
    rewards: int = 0  # ledger entries written
    points: int = 0   # points credited


@dataclass(frozen=True)
class SyncResult:
    created: list[str]
    updated: list[str]


def badge_catalog_sync(*, update: bool = True) -> SyncResult:
    """Put every badge of apps.badges.catalog into the table (idempotent).

    New badges are inserted; existing rows keep staff's edits (name, description, reward,
    active). With ``update``, the code-owned fields (icon, tier, display order) are refreshed
    where they changed.
    """
    specs = catalog.CATALOG
    params = {
        "codes": [s.code for s in specs], "names": [s.name for s in specs],
        "descriptions": [s.description for s in specs], "icons": [s.icon for s in specs],
        "tiers": [s.tier for s in specs], "rewards": [s.reward for s in specs],
        "actives": [True] * len(specs), "positions": list(range(1, len(specs) + 1)),
    }
    sql = rules.SYNC_SQL.format(conflict=rules.SYNC_UPDATE if update else "NOTHING")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return SyncResult(created=[code for code, created in rows if created],
                      updated=[code for code, created in rows if not created])


def badges_evaluate_race(*, race_id: int, now: datetime | None = None, notify: bool = True) -> RaceBadges:
    """Award every badge the players of one completed race qualify for, and pay the rewards.

    Idempotent: a badge already held is skipped, and a reward already in the ledger is never
    paid again. A race that is not completed awards nothing. House accounts and
    shadow-restricted players are never awarded (see apps.badges.catalog).
    """
    # A badge added to the catalog since the last deploy is live from the next race on (a cheap
    # no-op when the table is complete; its own transaction, so no lock outlives it).
    if Badge.objects.count() < len(catalog.CATALOG):
        badge_catalog_sync(update=False)
    now = now or redis_now()
    cte, params = rules.candidates_sql()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(cte + rules.AWARD_SQL, {**params, "race": race_id, "now": now})
        awards = [Award(user_id=u, badge_id=b) for u, b in cursor.fetchall()]
        if not awards:
            return RaceBadges(race_id=race_id)
        users = sorted({a.user_id for a in awards})
        ledger.lock_accounts(cursor, user_ids=users)
        paid = ledger.credit_many(cursor, source_sql=rules.REWARD_SOURCE, kind=ledger.Kind.BADGE_REWARD,
                                  race_id=race_id, memo="Badge reward", rows=True,
                                  params={"users": [a.user_id for a in awards],
                                          "badges": [a.badge_id for a in awards]}).rows
        if notify:
            _notify_on_commit(race_id, awards)
    result = RaceBadges(race_id=race_id, awards=awards, rewards=len(paid), points=sum(int(r[1]) for r in paid))
    log.info("race %s: %s badges awarded, %s rewards, %s points", race_id, len(awards), result.rewards,
             result.points)
    return result


def badge_event_payload(badge: Badge, *, race_id: int | None) -> dict:
    """The ``badge_unlocked`` event the /ws/me/ toast shows (static/js/toasts.js)."""
    return {"type": "badge_unlocked", "race_id": race_id,
            "badge": {"code": badge.code, "name": badge.name, "description": badge.description, "icon": badge.icon,
                      "rarity": badge.tier, "reward": badge.reward}}


def _notify_on_commit(race_id: int, awards: list[Award]) -> None:
    badges = Badge.objects.in_bulk({a.badge_id for a in awards})
    for award in awards:
        # Background publisher: a race's first-bet badges can go to thousands of players at once.
        user_event_on_commit(award.user_id, badge_event_payload(badges[award.badge_id], race_id=race_id),
                             background=True)
