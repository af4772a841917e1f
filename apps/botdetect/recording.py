"""Recording what is seen: sign-ups and logins as they happen (rare enough to write at once),
bets from the Redis list the bet routes append to (apps.core.observe), folded in by a task.

Every observation becomes sightings (address, network, device, client fingerprint) upserted per
(player, kind, value) with first and last seen and a hit count. A sign-up also gets its
``SignupRecord`` and its burst size: accounts created from the same address or device within
BURST_WINDOW, this one included (brief 03: more than 3 on one address in under 15 seconds).
"""
from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta, timezone

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone as dj_timezone

from apps.botdetect.models import Blocklist, SignupRecord
from apps.core.observe import OBSERVATIONS_KEY, ClientInfo
from apps.core.redis import get_redis

log = logging.getLogger(__name__)

BURST_WINDOW = timedelta(seconds=15)
DRAIN_BATCH = 5000

_UPSERT_SQL = """
INSERT INTO botdetect_sighting (user_id, kind, value, first_seen, last_seen, hits, detail)
SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::timestamptz[], %s::timestamptz[], %s::int[],
                     %s::jsonb[])
ON CONFLICT (user_id, kind, value) DO UPDATE SET
    first_seen = LEAST(botdetect_sighting.first_seen, EXCLUDED.first_seen),
    last_seen = GREATEST(botdetect_sighting.last_seen, EXCLUDED.last_seen),
    hits = botdetect_sighting.hits + EXCLUDED.hits
"""


def client_value(info: dict) -> str:
    """The client fingerprint's value: route, header names in order, user agent and languages."""
    digest = hashlib.sha1(f"{info.get('ua', '')}|{info.get('l', '')}".encode()).hexdigest()[:12]
    return f"{info.get('v', '')}:{info.get('h', '')}:{digest}"


def _sightings_of(user_id: int, info: dict, at: datetime):
    """(user, kind, value, at, detail) rows for one observation (``ClientInfo.as_dict`` keys)."""
    if info.get("a"):
        yield user_id, "address", info["a"], at, {}
    if info.get("n"):
        yield user_id, "network", info["n"], at, {}
    if info.get("d"):
        yield user_id, "device", info["d"], at, {}
    yield user_id, "client", client_value(info), at, {"ua": info.get("ua", ""), "languages": info.get("l", ""),
                                                      "headers": info.get("hn", ""), "via": info.get("v", "")}


def sightings_upsert(rows) -> int:
    """Upsert (user, kind, value, at, detail) rows, merged per key first (one statement)."""
    merged: dict[tuple, list] = {}
    for user_id, kind, value, at, detail in rows:
        key = (user_id, kind, value[:100])
        if key in merged:
            entry = merged[key]
            entry[0] = min(entry[0], at)
            entry[1] = max(entry[1], at)
            entry[2] += 1
        else:
            merged[key] = [at, at, 1, detail]
    if not merged:
        return 0
    keys = list(merged)
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT_SQL, [[k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys],
                                     [merged[k][0] for k in keys], [merged[k][1] for k in keys],
                                     [merged[k][2] for k in keys], [json.dumps(merged[k][3]) for k in keys]])
    return len(keys)


def signup_blocked(info: ClientInfo) -> str | None:
    """accounts.signup_checks hook: refuse sign-ups from a banned account's device or address."""
    query = Q()
    if info.address:
        query |= Q(kind=Blocklist.Kind.ADDRESS, value=info.address)
    if info.device:
        query |= Q(kind=Blocklist.Kind.DEVICE, value=info.device)
    if query and Blocklist.objects.filter(query).exists():
        return "Sign-ups from this device or network are closed."
    return None


def signup_recorded(user, info: ClientInfo) -> None:
    """accounts.on_signup hook (inside the registration transaction): the sign-up, its sightings
    and its burst; the new account and the burst's others are rescored after the commit."""
    from apps.botdetect.tasks import botdetect_rescore_users_task

    now = dj_timezone.now()
    # One address, or one device on one network: a popular phone's fingerprint is shared by
    # strangers, who do not sign up from the same network within seconds.
    recent = Q()
    if info.address:
        recent |= Q(address=info.address)
    if info.device and info.network:
        recent |= Q(device=info.device, network=info.network)
    burst_ids = list(SignupRecord.objects.filter(recent, at__gte=now - BURST_WINDOW).values_list("user_id", flat=True)
                     ) if recent else []
    SignupRecord.objects.create(user=user, at=now, address=info.address, network=info.network or "",
                                device=info.device or "", user_agent=info.user_agent, languages=info.languages,
                                headers_hash=info.headers_hash, via=info.via, burst_size=len(burst_ids) + 1)
    sightings_upsert(_sightings_of(user.pk, info.as_dict(), now))
    users = [user.pk, *burst_ids]
    transaction.on_commit(lambda: botdetect_rescore_users_task.delay(users))


def login_recorded(user, info: ClientInfo) -> None:
    """accounts.on_login hook: the login's sightings, then a rescore of the player."""
    from apps.botdetect.tasks import botdetect_rescore_users_task

    if getattr(user, "is_house", False):
        return
    sightings_upsert(_sightings_of(user.pk, info.as_dict(), dj_timezone.now()))
    user_id = user.pk
    transaction.on_commit(lambda: botdetect_rescore_users_task.delay([user_id]))


_POP_LUA = """
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items > 0 then redis.call('LTRIM', KEYS[1], #items, -1) end
return items
"""
_pop = None


def observations_drain(*, limit: int = 50_000) -> int:
    """Fold the bet observations waiting in Redis into sightings; returns how many were read.
    Each batch is taken off the list atomically, so concurrent drains never read one twice."""
    global _pop
    client = get_redis()
    if _pop is None:
        _pop = client.register_script(_POP_LUA)
    done = 0
    while done < limit:
        items = _pop(keys=[OBSERVATIONS_KEY], args=[DRAIN_BATCH], client=client)
        if not items:
            break
        rows = []
        for raw in items:
            try:
                obs = json.loads(raw)
                at = datetime.fromtimestamp(float(obs["t"]), tz=timezone.utc)
                rows.extend(_sightings_of(int(obs["u"]), obs, at))
            except (ValueError, KeyError, TypeError):
                log.warning("bad fair-play observation dropped: %r", raw[:200])
        with transaction.atomic():
            sightings_upsert(rows)
        done += len(items)
    return done
