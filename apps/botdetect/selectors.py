"""Fair-play reads for staff: the review queue and one player's case with its evidence and the
accounts linked to it, side by side."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Count, QuerySet

from apps.botdetect.models import Decision, SignupRecord, Sighting, Suspicion

User = get_user_model()
OPEN = (Suspicion.Status.QUEUED, Suspicion.Status.RESTRICTED)


def review_queue() -> QuerySet[Suspicion]:
    """Open cases — queued, or restricted and not yet decided by staff — highest score first."""
    return (Suspicion.objects.filter(status__in=OPEN, decided=False).select_related("user")
            .order_by("-score", "user_id"))


def linked_ids(case: Suspicion) -> list[int]:
    linked = set()
    for signal in case.signals or []:
        evidence = signal.get("evidence") or {}
        linked.update(int(u) for u in evidence.get("accounts", []))
        linked.update(int(p["user_id"]) for p in evidence.get("partners", []))
    linked.discard(case.user_id)
    return sorted(linked)


def _profiles(user_ids: list[int]) -> list[dict]:
    """One row per account: what staff compare side by side."""
    users = {u.pk: u for u in User.objects.filter(pk__in=user_ids).annotate(bet_count=Count("bets"))}
    cases = {c.user_id: c for c in Suspicion.objects.filter(user_id__in=user_ids)}
    signups = {r.user_id: r for r in SignupRecord.objects.filter(user_id__in=user_ids)}
    seen: dict[int, dict[str, list[str]]] = {}
    for user_id, kind, value in (Sighting.objects.filter(user_id__in=user_ids, kind__in=["address", "device"])
                                 .order_by("-last_seen").values_list("user_id", "kind", "value")):
        seen.setdefault(user_id, {}).setdefault(kind, []).append(value)
    rows = []
    for user_id in user_ids:
        user = users.get(user_id)
        if user is None:
            continue
        case, signup = cases.get(user_id), signups.get(user_id)
        rows.append({
            "user_id": user_id, "username": user.username, "date_joined": user.date_joined,
            "is_active": user.is_active, "restricted": user.is_shadow_restricted,
            "score": case.score if case else 0.0, "status": case.status if case else Suspicion.Status.NONE,
            "bets": getattr(user, "bet_count", 0),
            "signup_address": signup.address if signup else None, "signup_device": signup.device if signup else "",
            "signup_via": signup.via if signup else "", "burst_size": signup.burst_size if signup else None,
            "addresses": seen.get(user_id, {}).get("address", [])[:5],
            "devices": seen.get(user_id, {}).get("device", [])[:5],
        })
    return rows


def player_case(*, user) -> dict:
    """Everything staff need to decide about one player."""
    case = Suspicion.objects.filter(user_id=user.pk).first() or Suspicion(user_id=user.pk)
    linked = linked_ids(case)
    me = _profiles([user.pk])
    return {
        "user_id": user.pk, "username": user.username, "score": case.score, "kinds": case.kinds,
        "families": case.families, "status": case.status, "decided": case.decided, "computed_at": case.computed_at,
        "queued_at": case.queued_at, "restricted_at": case.restricted_at, "cleared_at": case.cleared_at,
        "restricted": user.is_shadow_restricted, "held": getattr(getattr(user, "points", None), "held", 0),
        "signals": case.signals or [],
        "player": me[0] if me else None,
        "linked": _profiles(linked[:50]),
        "decisions": [{"action": d.action, "staff": d.staff.username if d.staff else None, "reason": d.reason,
                       "score": d.score, "points_moved": d.points_moved, "at": d.at}
                      for d in Decision.objects.filter(user_id=user.pk).select_related("staff")[:50]],
    }
