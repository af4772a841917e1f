"""Fair-play writes: rescoring players, automatic queueing and restriction, staff decisions.

``suspicion_rescore`` recomputes players' scores (apps.botdetect.signals, .scoring) and moves
them into the queue or into shadow restriction when the thresholds say so. ``decision_apply``
records a staff decision — clear, keep restricted, ban — and carries it out: held points
released exactly once or burned (apps.points.ledger), the account re-enabled or disabled, its
devices and addresses blocked, the leaderboards updated after the commit. Every change of
standing is a Decision row: the audit trail.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from apps.botdetect import scoring
from apps.botdetect.models import Blocklist, Decision, Sighting, Suspicion
from apps.botdetect.signals import Player, signals_for
from apps.leaderboards.services import leaderboard_readmit_user, leaderboard_remove_user, leaderboard_restore_user
from apps.points import ledger

log = logging.getLogger(__name__)
User = get_user_model()
BATCH = 500
S = Suspicion.Status


class DecisionError(ValueError):
    """A decision that cannot be made (unknown decision, no reason, a staff account)."""


@dataclass(frozen=True)
class Rescored:
    players: int
    queued: int
    restricted: int


def _restrict(user_id: int) -> None:
    User.objects.filter(pk=user_id).update(is_shadow_restricted=True)
    transaction.on_commit(lambda: leaderboard_remove_user(user_id=user_id))


def suspicion_rescore(*, user_ids, now: datetime | None = None) -> Rescored:
    """Recompute the scores of these players (house and staff accounts are skipped), in batches."""
    now = now or timezone.now()
    ids = sorted({int(u) for u in user_ids})
    queued = restricted = players = 0
    for start in range(0, len(ids), BATCH):
        q, r, n = _rescore_batch(ids[start:start + BATCH], now)
        queued, restricted, players = queued + q, restricted + r, players + n
    return Rescored(players=players, queued=queued, restricted=restricted)


def _rescore_batch(ids: list[int], now: datetime) -> tuple[int, int, int]:
    window_start = now - timedelta(days=settings.FAIRPLAY_WINDOW_DAYS)
    users = list(User.objects.filter(pk__in=ids, is_house=False, is_staff=False).values_list("pk", "date_joined"))
    if not users:
        return 0, 0, 0
    existing = {s.user_id: s for s in Suspicion.objects.filter(user_id__in=[u for u, _ in users])}
    players = []
    for user_id, joined in users:
        case = existing.get(user_id)
        since = max(window_start, case.cleared_at) if case and case.cleared_at else window_start
        players.append(Player(user_id=user_id, since=since, joined=joined,
                              cleared_links=set(case.cleared_links) if case else set()))
    found = signals_for(players, now=now)
    queued = restricted = 0
    for player in players:
        signals = found.get(player.user_id, [])
        result = scoring.combine(signals)
        change = _store(player.user_id, result, signals, now)
        queued += change == "queued"
        restricted += change == "restricted"
    return queued, restricted, len(players)


def _store(user_id: int, result: scoring.Score, signals: list, now: datetime) -> str | None:
    """Save one player's score and apply the thresholds; returns "queued"/"restricted" on a change."""
    payload = {"score": result.score, "kinds": result.kinds, "families": result.families,
               "signals": [s.as_dict() for s in sorted(signals, key=lambda s: -s.points)], "computed_at": now}
    review, action = settings.FAIRPLAY_REVIEW_THRESHOLD, settings.FAIRPLAY_ACTION_THRESHOLD
    wants_action = settings.FAIRPLAY_AUTO_RESTRICT and result.score >= action and result.kinds >= scoring.ACTION_KINDS
    if result.score <= 0 and not Suspicion.objects.filter(user_id=user_id).exists():
        return None  # nothing against them: no row (nor write) for the clean majority
    with transaction.atomic():
        case, _ = Suspicion.objects.select_for_update().get_or_create(user_id=user_id)
        for key, value in payload.items():
            setattr(case, key, value)
        change = None
        if case.status in (S.NONE, S.CLEARED, S.QUEUED) and wants_action:
            if case.status != S.QUEUED or not case.queued_at:
                case.queued_at = now
            case.status, case.restricted_at, case.decided = S.RESTRICTED, now, False
            _restrict(user_id)
            Decision.objects.create(user_id=user_id, action=Decision.Action.AUTO_RESTRICT, score=result.score,
                                    reason=_why(result, signals))
            change = "restricted"
        elif case.status in (S.NONE, S.CLEARED) and result.score >= review:
            case.status, case.queued_at, case.decided = S.QUEUED, now, False
            Decision.objects.create(user_id=user_id, action=Decision.Action.QUEUE, score=result.score,
                                    reason=_why(result, signals))
            change = "queued"
        case.save()
    if change:
        log.info("fair play: player %s %s (score %s, %s)", user_id, change, result.score, result.families)
    return change


def _why(result: scoring.Score, signals: list) -> str:
    top = ", ".join(f"{s.kind} {s.points:g}" for s in sorted(signals, key=lambda s: -s.points) if s.points > 0)
    return f"score {result.score:g} over {result.kinds} kind(s) of signal: {top}"[:500]


# --------------------------------------------------------------------------- staff decisions

DECISIONS = {"clear": Decision.Action.CLEAR, "restrict": Decision.Action.RESTRICT, "ban": Decision.Action.BAN}


def _linked_accounts(case: Suspicion) -> list[int]:
    linked = set()
    for signal in case.signals or []:
        evidence = signal.get("evidence") or {}
        linked.update(int(u) for u in evidence.get("accounts", []))
        linked.update(int(p["user_id"]) for p in evidence.get("partners", []))
    return sorted(linked)


def decision_apply(*, user, staff, decision: str, reason: str) -> Decision:
    """Record and carry out a staff decision on a player; returns the Decision (the audit row).

    clear: the restriction is lifted, held points are released (exactly once, however many
    clears arrive together), the player is back on the leaderboards — with the races settled
    while they were restricted in their standings and totals — and the evidence seen so
    far will not flag them again. restrict: shadow-restricted (kept so, if already). ban: held
    points burned with ledger entries, the account disabled, its devices and addresses blocked
    for new sign-ups."""
    action = DECISIONS.get(decision)
    if action is None:
        raise DecisionError("decision: choose clear, restrict or ban.")
    reason = (reason or "").strip()
    if not reason:
        raise DecisionError("reason: say why (it goes in the audit trail).")
    if user.is_staff or user.is_house:
        raise DecisionError("Staff and house accounts are not judged by fair play.")
    now = timezone.now()
    user_id, moved, tag = user.pk, 0, uuid.uuid4().hex[:16]
    with transaction.atomic():
        # The case row is the decisions' lock: two decisions on one player run one after the other.
        case, _ = Suspicion.objects.select_for_update().get_or_create(user_id=user_id)
        score = case.score
        if action == Decision.Action.CLEAR:
            User.objects.filter(pk=user_id).update(is_shadow_restricted=False)
            moved = ledger.hold_release(user_id=user_id, key=f"fairplay:release:{user_id}:{tag}",
                                        memo=f"Released after fair-play review ({reason[:120]})")
            case.status, case.cleared_at = S.CLEARED, now
            case.cleared_links = sorted(set(case.cleared_links or []) | set(_linked_accounts(case)))
            # The races settled meanwhile left them out of their standings: those count now too.
            leaderboard_readmit_user(user_id=user_id)
            transaction.on_commit(lambda: leaderboard_restore_user(user_id=user_id))
        elif action == Decision.Action.RESTRICT:
            _restrict(user_id)
            case.status = S.RESTRICTED
            case.restricted_at = case.restricted_at or now
        else:
            User.objects.filter(pk=user_id).update(is_shadow_restricted=True, is_active=False)
            moved = ledger.hold_burn(user_id=user_id, key=f"fairplay:burn:{user_id}:{tag}",
                                     memo=f"Burned: account banned ({reason[:120]})")
            case.status = S.BANNED
            transaction.on_commit(lambda: leaderboard_remove_user(user_id=user_id))
        case.decided = True
        case.save()
        # The audit row, written once (the table is append-only: migration botdetect/0002).
        record = Decision.objects.create(user_id=user_id, staff=staff, action=action, reason=reason[:500],
                                         score=score, points_moved=moved)
        if action == Decision.Action.BAN:
            for kind, value in (Sighting.objects.filter(user_id=user_id, kind__in=["address", "device"])
                                .values_list("kind", "value")):
                Blocklist.objects.get_or_create(kind=kind, value=value, defaults={"decision": record})
    log.info("fair play: %s %s player %s (%s points moved): %s", staff, decision, user.pk, record.points_moved, reason)
    return record
