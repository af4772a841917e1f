"""The soak test's verdict (bench/soak.py): what PostgreSQL holds against what the API answered,
the viewers' recovery after each kill, and the markdown report (also put in docs/RELIABILITY.md)."""
from __future__ import annotations

import itertools
import json
import statistics
import time
from typing import TYPE_CHECKING

from _support import BASE_DIR

if TYPE_CHECKING:
    from soak import Results, Stack

DOC = BASE_DIR / "docs" / "RELIABILITY.md"
DOC_BEGIN, DOC_END = "<!-- soak:begin -->", "<!-- soak:end -->"


def recovery(results: Results, event: dict, horizon: float = 60.0) -> dict:
    """For the viewers watching when ``event`` happened (a frame in the 3 s before, on the killed
    web process for a web kill, their race running 15 s past the event): seconds to their next frame."""
    t = event["t"]
    ends = {race.id: race.ends for race in results.races.values()}
    wall_offset = time.time() - time.monotonic()
    delays, stuck = [], 0
    for frames in results.viewers:
        before = [f for f in frames if t - 3 <= f[0] < t]
        if not before:
            continue
        _, port, race_id = before[-1]
        if event.get("port") is not None and port != event["port"]:
            continue
        if ends.get(race_id, 0) - wall_offset < t + 15:
            continue
        after = next((f[0] for f in frames if f[0] >= t), None)
        if after is None or after - t > horizon:
            stuck += 1
        else:
            delays.append(after - t)
    return {"watching": len(delays) + stuck, "p50": statistics.median(delays) if delays else None,
            "max": max(delays) if delays else None, "stuck": stuck}


def silences(results: Results, began: float, longer_than: float = 3.0) -> list[tuple[float, float, str]]:
    """Moments when no viewer got a frame for over ``longer_than`` seconds: (start after ``began``,
    length, the event that came last before it)."""
    times = sorted(t for frames in results.viewers for t, _, _ in frames)
    out = []
    for a, b in itertools.pairwise(times):
        if b - a > longer_than:
            last = [e["what"] for e in results.events if e["t"] <= a + 1]
            out.append((a - began, b - a, last[-1] if last else "no event before"))
    return out


def final_checks(results: Results) -> dict:
    from django.db import connection

    from apps.points.models import LedgerEntry

    accepted = {b["id"]: b for b in results.bets}
    found = {}
    with connection.cursor() as cursor:
        cursor.execute("""SELECT b.id, b.user_id, b.stake, e.amount FROM bets_bet b
                          LEFT JOIN points_ledgerentry e ON e.idempotency_key = 'bet:' || b.id || ':stake'
                          WHERE b.id = ANY(%s)""", [list(accepted)])
        for bet_id, user_id, stake, entry in cursor.fetchall():
            found[bet_id] = (user_id, stake, entry)
        lost = [b for b in accepted.values() if b["id"] not in found
                or found[b["id"]] != (b["user"], b["stake"], -b["stake"])]
        cursor.execute("""SELECT COUNT(*) FROM (SELECT bet_id FROM points_ledgerentry WHERE kind = %s
                          GROUP BY bet_id HAVING COUNT(*) > 1) d""", [LedgerEntry.Kind.PAYOUT])
        doubled = cursor.fetchone()[0]
        cursor.execute("""SELECT COUNT(*) FROM bets_bet b
                          LEFT JOIN (SELECT bet_id, SUM(amount) paid FROM points_ledgerentry WHERE kind = %s
                                     GROUP BY bet_id) p ON p.bet_id = b.id
                          WHERE b.status IN ('won', 'lost') AND COALESCE(p.paid, 0) <> b.payout""",
                       [LedgerEntry.Kind.PAYOUT])
        mispaid = cursor.fetchone()[0]
        cursor.execute("""SELECT COUNT(*), COUNT(*) FILTER (WHERE a.balance <> COALESCE(l.total, 0))
                          FROM points_pointsaccount a
                          LEFT JOIN (SELECT user_id, SUM(amount) total FROM points_ledgerentry GROUP BY user_id) l
                          ON l.user_id = a.user_id""")
        accounts, unbalanced = cursor.fetchone()
        cursor.execute("SELECT state, COUNT(*) FROM races_race WHERE id = ANY(%s) GROUP BY state",
                       [list(results.races)])
        race_states = dict(cursor.fetchall())
        ended = [race.id for race in results.races.values() if race.ends < time.time() - 2]
        cursor.execute("SELECT COUNT(*) FROM races_race WHERE id = ANY(%s) AND state NOT IN ('completed', 'cancelled')",
                       [ended])
        unsettled = cursor.fetchone()[0]
        cursor.execute("SELECT status, COUNT(*) FROM bets_bet WHERE race_id = ANY(%s) GROUP BY status",
                       [list(results.races)])
        bet_states = dict(cursor.fetchall())
    return {"accepted": len(accepted), "lost": len(lost), "lost_sample": lost[:5], "doubled": doubled,
            "mispaid": mispaid, "accounts": accounts, "unbalanced": unbalanced, "race_states": race_states,
            "ended": len(ended), "unsettled": unsettled,
            "bet_states": bet_states}


def wait_for_settlement(results: Results, timeout: float) -> None:
    """Races that have ended get up to ``timeout`` seconds to be settled by the (restarted) stack."""
    from apps.races.models import Race

    deadline = time.monotonic() + timeout
    ended = [race.id for race in results.races.values() if race.ends < time.time() - 2]
    while time.monotonic() < deadline:
        pending = Race.objects.filter(pk__in=ended).exclude(state__in=[Race.State.COMPLETED, Race.State.CANCELLED])
        if not pending.exists():
            return
        time.sleep(1)


def report(args, results: Results, checks: dict, mem_start: dict, mem_end: dict, stack: Stack, probe: float,
           began: float) -> str:
    def fmt(value, unit="s"):
        return "–" if value is None else f"{value:.1f} {unit}".strip()

    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(results.bet_status.items()))
    reads = ", ".join(f"{k}: {v}" for k, v in sorted(results.read_status.items()))
    frames = sum(len(f) for f in results.viewers)
    smoke = args.minutes < 20
    lines = [
        (f"### {'Smoke run' if smoke else 'Run'}: {args.minutes:g} minutes, {time.strftime('%Y-%m-%d %H:%M')}"
         + (" (a smoke run: the full run is 20 minutes)" if smoke else "")),
        "",
        (f"`bench/soak.py --minutes {args.minutes:g}` · CPU probe {probe:.2f} s · "
         f"{args.viewers} viewers, {args.bet_rate:g} bets/s, {args.read_rate:g} reads/s, {args.quote_clients} quote "
         f"sockets · a kill every {args.kill_every:g} s, restarted after {args.restart_after:g} s"),
        "",
        "| check | result |",
        "|---|---|",
        f"| bets answered 201 | {checks['accepted']} |",
        f"| **bets accepted and lost** (201, but not in PostgreSQL with their stake entry) | **{checks['lost']}** |",
        f"| **payouts doubled** (a bet with two payout entries) | **{checks['doubled']}** |",
        f"| bets whose payout entries do not sum to their payout | {checks['mispaid']} |",
        (f"| **balance == ledger** at the end | **{'yes' if checks['unbalanced'] == 0 else 'NO'}** "
         f"({checks['accounts']} accounts, {checks['unbalanced']} differ) |"),
        f"| bet answers | {statuses} |",
        f"| API reads | {reads} |",
        f"| races (by final state) | {', '.join(f'{k}: {v}' for k, v in sorted(checks['race_states'].items()))} |",
        (f"| **races ended but not settled** (after the load, {args.settle_timeout:g} s allowed) | "
         f"**{checks['unsettled']}** of {checks['ended']} |"),
        f"| their bets (by status) | {', '.join(f'{k}: {v}' for k, v in sorted(checks['bet_states'].items()))} |",
        f"| frames received by viewers | {frames} over {results.viewer_connects} connections |",
        (f"| times no viewer got a frame for over 3 s | "
         f"{'; '.join(f'at {a:.0f} s for {n:.1f} s (after: {what})' for a, n, what in silences(results, began)) or 'none'} |"),
        f"| quote batches received | {results.quotes_received} ({results.quote_reconnects} reconnects) |",
        "",
        ("Viewers' recovery: from the kill to the next frame of each viewer watching at that moment "
         "(on the killed process for web-1)."),
        "",
        "| at | what | restarted in | viewers watching | next frame, median | slowest | none within 60 s |",
        "|---|---|---|---|---|---|---|",
    ]
    for event in results.events:
        rec = recovery(results, event)
        restart = (f"{event['down_s']:.1f} s down" if "down_s" in event else
                   "failed" if "restart_failed" in event else fmt(event.get("restart_s")))
        lines.append(f"| {event['t'] - began:.0f} s | {event['what']} | {restart} | {rec['watching']} | "
                     f"{fmt(rec['p50'])} | {fmt(rec['max'])} | {rec['stuck']} |")
    lines += ["", "Memory (RSS of each process tree, MB) when the load started and when it ended:", "",
              "| process | killed and restarted | start | end |", "|---|---|---|---|"]
    for name in [*stack.restarts, "postgres", "redis"]:
        restarts = stack.restarts.get(name, 1 if name == "redis" else 0)
        lines.append(f"| {name} | {restarts} | {fmt(mem_start.get(name), '')} | {fmt(mem_end.get(name), '')} |")
    if checks["lost_sample"]:
        lines += ["", f"Lost bets (first 5): `{json.dumps(checks['lost_sample'])}`"]
    return "\n".join(lines)


def write_doc(text: str) -> None:
    doc = DOC.read_text()
    if DOC_BEGIN not in doc:
        raise SystemExit(f"{DOC} has no {DOC_BEGIN} … {DOC_END} block to replace")
    head, rest = doc.split(DOC_BEGIN, 1)
    _, tail = rest.split(DOC_END, 1)
    DOC.write_text(f"{head}{DOC_BEGIN}\n{text}\n{DOC_END}{tail}")
