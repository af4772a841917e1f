"""The signals, computed for many players at once from what PostgreSQL holds.

``signals_for(users)`` reads, per batch of players, their bets in the window (one query: timing,
intervals and accuracy), their copy matches, their sightings and the accounts sharing them, and
their sign-ups, and returns each player's signals with the evidence staff see. Nothing here
writes. Each player has a start (``since``): the window's start, or the moment staff cleared the
account if later — a cleared account is judged on new evidence only.
"""
from __future__ import annotations

import json
import math
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from apps.botdetect.scoring import Signal, ramp

# Timing: the first bet of a race this soon after betting opened, or the last this soon before it
# closed, is not a person reading the race and choosing.
FAST_OPEN_SECONDS = 1.5
SNIPE_SECONDS = 0.3
TIMING_MIN_RACES = 3
HISTOGRAM = [(0.1, "<100 ms"), (0.5, "<500 ms"), (1.5, "<1.5 s"), (5, "<5 s"), (30, "<30 s"), (120, "<2 min"),
             (math.inf, "later")]
# Regularity: intervals between bets (gaps over an hour are sessions, not intervals).
REGULAR_MIN_INTERVALS = 8
SESSION_GAP_SECONDS = 3600
# Accuracy: settled winner and bracket bets.
ACCURACY_MIN_BETS = 8
EXACT_TAIL_MAX = 400
# Coordination: CopyMatch rows (apps.botdetect.copies).
COPY_MIN_MATCHES = 3
# Identity.
BURST_WINDOW = timedelta(seconds=15)
SHARED_VALUE_CAP = 200  # a value shared by more accounts than this (a carrier's network) links nobody
YOUNG_ACCOUNT = timedelta(days=3)
SCRIPTED_UA = re.compile(r"python|aiohttp|httpx|curl|wget|go-http-client|java/|libwww|node-fetch|axios|"
                         r"postmanruntime|scrapy|headless|phantomjs|selenium|puppeteer|playwright|bot\b", re.I)


@dataclass
class Player:
    user_id: int
    since: datetime
    joined: datetime
    cleared_links: set[int] = field(default_factory=set)
    bets: list = field(default_factory=list)


# --------------------------------------------------------------------------- bets

BETS_SQL = """
SELECT b.user_id, b.id, b.race_id, b.kind, b.odds::float8, b.status, b.placed_at,
       EXTRACT(EPOCH FROM b.placed_at - COALESCE(t.at, r.betting_opens_at))::float8 AS after_open,
       EXTRACT(EPOCH FROM r.starts_at - b.placed_at)::float8 AS before_close
FROM unnest(%(users)s::bigint[], %(since)s::timestamptz[]) AS w(user_id, since)
JOIN bets_bet b ON b.user_id = w.user_id AND b.placed_at >= w.since
JOIN races_race r ON r.id = b.race_id
LEFT JOIN races_racetransition t ON t.race_id = b.race_id AND t.to_state = 'open'
ORDER BY b.user_id, b.placed_at, b.id
"""


def timing_signal(bets) -> Signal | None:
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    for _, _, race_id, _, _, _, _, after_open, before_close in bets:
        first.setdefault(race_id, after_open)
        last[race_id] = before_close
    races = len(first)
    if not races:
        return None
    fast = sum(1 for v in first.values() if 0 <= v < FAST_OPEN_SECONDS)
    snipes = sum(1 for v in last.values() if 0 <= v < SNIPE_SECONDS)
    instant = sum(1 for r in first if 0 <= first[r] < FAST_OPEN_SECONDS or 0 <= last[r] < SNIPE_SECONDS)
    share = instant / races
    strength = ramp(share, 0.25, 0.75) if instant >= TIMING_MIN_RACES else 0.0
    histogram = {label: 0 for _, label in HISTOGRAM}
    for v in first.values():
        histogram[next(label for bound, label in HISTOGRAM if v < bound)] += 1
    opens = sorted(v for v in first.values() if v >= 0)
    return Signal("timing", strength,
                  f"{instant} of {races} races bet within {FAST_OPEN_SECONDS:g} s of opening or "
                  f"{SNIPE_SECONDS * 1000:.0f} ms of closing",
                  {"races": races, "fast_after_open": fast, "snipes_before_close": snipes, "instant_share": round(share, 3),
                   "median_ms_after_open": round(opens[len(opens) // 2] * 1000) if opens else None,
                   "histogram_after_open": histogram})


def regularity_signal(bets) -> Signal | None:
    times = [row[6] for row in bets]
    intervals = [(b - a).total_seconds() for a, b in zip(times, times[1:])]
    intervals = [i for i in intervals if 0 < i <= SESSION_GAP_SECONDS]
    if len(intervals) < REGULAR_MIN_INTERVALS:
        return None
    median = statistics.median(intervals)
    jitter = 1.4826 * statistics.median(abs(i - median) for i in intervals)  # robust standard deviation
    robust_cv = jitter / median if median > 0 else 0.0
    cv = statistics.pstdev(intervals) / statistics.fmean(intervals)
    strength = min(ramp(robust_cv, 0.10, 0.03), ramp(jitter, 1.5, 0.5)) * ramp(len(intervals), 5, 10)
    return Signal("regularity", strength,
                  f"{len(intervals)} intervals between bets, median {median:.2f} s ± {jitter:.2f} s "
                  f"(robust CV {robust_cv:.3f})",
                  {"intervals": len(intervals), "median_seconds": round(median, 3), "jitter_seconds": round(jitter, 3),
                   "robust_cv": round(robust_cv, 4), "cv": round(cv, 4),
                   "sample_seconds": [round(i, 3) for i in intervals[-20:]]})


def poisson_binomial_tail(ps: list[float], k: int) -> float:
    """P(X >= k) for X the number of successes of independent trials with chances ``ps``: exact
    for up to EXACT_TAIL_MAX trials, a normal approximation (continuity-corrected) beyond."""
    if k <= 0:
        return 1.0
    if len(ps) <= EXACT_TAIL_MAX:
        dist = [1.0]
        for p in ps:
            nxt = [0.0] * (len(dist) + 1)
            for j, q in enumerate(dist):
                nxt[j] += q * (1 - p)
                nxt[j + 1] += q * p
            dist = nxt
        return max(min(sum(dist[k:]), 1.0), 1e-300)
    mean = sum(ps)
    sd = math.sqrt(sum(p * (1 - p) for p in ps)) or 1e-9
    z = (k - 0.5 - mean) / sd
    return max(0.5 * math.erfc(z / math.sqrt(2)), 1e-300)


def accuracy_signal(bets) -> Signal | None:
    keep = 1.0 - float(settings.BET_HOUSE_MARGIN)
    settled = [(odds, status == "won") for _, _, _, kind, odds, status, *_ in bets
               if kind in ("winner", "bracket") and status in ("won", "lost") and odds]
    if len(settled) < ACCURACY_MIN_BETS:
        return None
    ps = [min(0.95, max(0.01, keep / odds)) for odds, _ in settled]
    hits = sum(1 for _, won in settled if won)
    expected = sum(ps)
    p_value = poisson_binomial_tail(ps, hits)
    surprise = -math.log10(p_value)
    ratio = hits / expected if expected else 0.0
    strength = ramp(surprise, 4, 8) * ramp(ratio, 1.5, 2.5)
    return Signal("accuracy", strength,
                  f"won {hits} of {len(settled)} settled bets where the odds expected {expected:.1f} "
                  f"(p = {p_value:.1e})",
                  {"settled": len(settled), "hits": hits, "expected": round(expected, 2), "ratio": round(ratio, 2),
                   "p_value": p_value, "log10_surprise": round(surprise, 2)})


# --------------------------------------------------------------------------- other accounts

COPIES_SQL = """
SELECT m.user_lo_id, m.user_hi_id, m.race_id, m.at FROM botdetect_copymatch m
WHERE (m.user_lo_id = ANY(%(users)s) OR m.user_hi_id = ANY(%(users)s)) AND m.at >= %(since)s
"""
RACES_OF_SQL = """
SELECT user_id, COUNT(DISTINCT race_id) FROM bets_bet
WHERE user_id = ANY(%(users)s) AND placed_at >= %(since)s GROUP BY user_id
"""
LINKED_SQL = """
SELECT s.user_id, s.kind, s.value, o.user_id
FROM botdetect_sighting s
CROSS JOIN LATERAL (
    SELECT o.user_id FROM botdetect_sighting o
    WHERE o.kind = s.kind AND o.value = s.value AND o.user_id <> s.user_id AND o.last_seen >= %(since)s
    LIMIT %(cap)s
) o
WHERE s.user_id = ANY(%(users)s) AND s.kind IN ('address', 'network', 'device') AND s.last_seen >= %(since)s
"""
CLIENTS_SQL = """
SELECT user_id, value, detail, hits FROM botdetect_sighting
WHERE user_id = ANY(%(users)s) AND kind = 'client' AND last_seen >= %(since)s
"""
BURSTS_SQL = """
SELECT r.user_id, o.user_id FROM botdetect_signuprecord r
JOIN botdetect_signuprecord o ON o.user_id <> r.user_id
    AND ((r.address IS NOT NULL AND o.address = r.address)
         OR (r.device <> '' AND o.device = r.device AND o.network = r.network))
    AND o.at BETWEEN r.at - %(burst)s AND r.at + %(burst)s
WHERE r.user_id = ANY(%(users)s)
"""
SIGNUP_AT_SQL = "SELECT user_id, at FROM botdetect_signuprecord WHERE user_id = ANY(%(users)s)"


def coordination_signal(player: Player, matches: list, races_of: dict[int, int]) -> Signal | None:
    by_partner: dict[int, set] = defaultdict(set)
    for lo, hi, race_id, at in matches:
        if at < player.since or player.user_id not in (lo, hi):
            continue
        by_partner[hi if lo == player.user_id else lo].add(race_id)
    if not by_partner:
        return None
    mine = races_of.get(player.user_id, 0)
    partners = []
    for partner, races in by_partner.items():
        common = min(mine, races_of.get(partner, 0)) or len(races)
        share = len(races) / common
        strength = ramp(len(races), COPY_MIN_MATCHES - 1, COPY_MIN_MATCHES + 2) * ramp(share, 0.3, 0.7)
        partners.append((strength, partner, len(races), round(share, 2)))
    partners.sort(reverse=True)
    best = partners[0]
    return Signal("coordination", best[0],
                  f"placed the same bets as {sum(1 for p in partners if p[0] > 0)} other account(s) within seconds; "
                  f"most often {best[2]} races with one of them",
                  {"partners": [{"user_id": p, "matching_races": n, "share": s, "strength": round(st, 3)}
                                for st, p, n, s in partners[:20]], "races_bet": mine})


def identity_signals(player: Player, links: list, burst_others: list[int], signup_at: datetime | None,
                     now: datetime) -> list[Signal]:
    out = []
    by_kind: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for _, kind, value, other in links:
        if other not in player.cleared_links:
            by_kind[kind][value].add(other)
    networks_of_others = {o for others in by_kind["network"].values() for o in others}
    address_others = {o for others in by_kind["address"].values() for o in others}
    if address_others:
        n = len(address_others)
        out.append(Signal("shared_address", ramp(n, 2, 10), f"{n} other account(s) seen on the same address",
                          {"accounts": sorted(address_others)[:50],
                           "addresses": {v: sorted(o)[:20] for v, o in by_kind["address"].items()}}))
    device_others = {o for others in by_kind["device"].values() for o in others}
    if device_others:
        local = device_others & (networks_of_others | address_others)
        out.append(Signal("shared_device", ramp(len(local), 0, 3),
                          f"device shared with {len(device_others)} account(s), {len(local)} of them on the same network",
                          {"accounts": sorted(device_others)[:50], "same_network": sorted(local)[:50],
                           "devices": {v: sorted(o)[:20] for v, o in by_kind["device"].items()}}))
    if signup_at is not None and signup_at >= player.since:
        others = sorted(set(burst_others) - player.cleared_links)
        if others:
            size = len(others) + 1
            out.append(Signal("signup_burst", ramp(size, 3, 6),
                              f"created with {len(others)} other account(s) from one address or device within "
                              f"{BURST_WINDOW.total_seconds():.0f} s", {"accounts": others[:50], "burst_size": size}))
    return out


def client_signal(clients: list) -> Signal | None:
    worst, examples, pages, apis = 0.0, [], 0, 0
    for value, detail, hits in clients:
        ua = (detail or {}).get("ua", "")
        names = (detail or {}).get("headers", "")
        via = (detail or {}).get("via", "")
        pages += hits if via == "page" else 0
        apis += hits if via == "api" else 0
        if not ua or SCRIPTED_UA.search(ua):
            strength, why = 1.0, "automation user agent" if ua else "no user agent"
        elif ua.startswith("Mozilla/") and ("accept-language" not in names.split(",") or "accept" not in names.split(",")):
            strength, why = 0.6, "a browser's user agent without a browser's headers"
        elif not (detail or {}).get("languages"):
            strength, why = 0.3, "no Accept-Language"
        else:
            continue
        worst = max(worst, strength)
        examples.append({"user_agent": ua[:120], "headers": names[:200], "via": via, "why": why, "hits": hits})
    if not examples:
        return None
    return Signal("client", worst, f"{examples[0]['why']} ({examples[0]['user_agent'] or 'empty'})",
                  {"clients": examples[:5], "page_requests": pages, "api_requests": apis})


# --------------------------------------------------------------------------- all together


def signals_for(players: list[Player], *, now: datetime) -> dict[int, list[Signal]]:
    if not players:
        return {}
    users = [p.user_id for p in players]
    earliest = min(p.since for p in players)
    window_start = now - timedelta(days=settings.FAIRPLAY_WINDOW_DAYS)
    by_id = {p.user_id: p for p in players}
    with connection.cursor() as cursor:
        cursor.execute(BETS_SQL, {"users": users, "since": [p.since for p in players]})
        for row in cursor.fetchall():
            by_id[row[0]].bets.append(row)
        cursor.execute(COPIES_SQL, {"users": users, "since": earliest})
        matches = cursor.fetchall()
        partners = {u for lo, hi, _, _ in matches for u in (lo, hi)}
        cursor.execute(RACES_OF_SQL, {"users": sorted(set(users) | partners), "since": window_start})
        races_of = dict(cursor.fetchall())
        cursor.execute(LINKED_SQL, {"users": users, "since": window_start, "cap": SHARED_VALUE_CAP + 1})
        links: dict[int, list] = defaultdict(list)
        crowded: dict[tuple, int] = defaultdict(int)
        rows = cursor.fetchall()
        for user_id, kind, value, other in rows:
            crowded[(user_id, kind, value)] += 1
        for user_id, kind, value, other in rows:
            if crowded[(user_id, kind, value)] <= SHARED_VALUE_CAP:
                links[user_id].append((user_id, kind, value, other))
        cursor.execute(CLIENTS_SQL, {"users": users, "since": window_start})
        clients: dict[int, list] = defaultdict(list)
        for user_id, value, detail, hits in cursor.fetchall():
            # Django leaves jsonb as text on raw cursors (its JSONField decodes it).
            clients[user_id].append((value, json.loads(detail) if isinstance(detail, str) else detail, hits))
        cursor.execute(BURSTS_SQL, {"users": users, "burst": BURST_WINDOW})
        bursts: dict[int, list] = defaultdict(list)
        for user_id, other in cursor.fetchall():
            bursts[user_id].append(other)
        cursor.execute(SIGNUP_AT_SQL, {"users": users})
        signed_up = dict(cursor.fetchall())
    out: dict[int, list[Signal]] = {}
    for player in players:
        found = [s for s in (timing_signal(player.bets), regularity_signal(player.bets), accuracy_signal(player.bets),
                             coordination_signal(player, matches, races_of), client_signal(clients[player.user_id]))
                 if s is not None]
        found += identity_signals(player, links[player.user_id], bursts[player.user_id],
                                  signed_up.get(player.user_id), now)
        age = now - player.joined
        if age < YOUNG_ACCOUNT and any(s.strength > 0 for s in found):
            found.append(Signal("young_account", ramp(age.total_seconds(), YOUNG_ACCOUNT.total_seconds(), 0),
                                f"account {age.total_seconds() / 3600:.1f} h old",
                                {"age_hours": round(age.total_seconds() / 3600, 2)}))
        out[player.user_id] = found
    return out
