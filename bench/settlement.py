"""Benchmark: settlement of one race with 100,000 bets (target: under 3 s).

    .venv/bin/python bench/settlement.py                  # 100,000 bets from 20,000 players
    .venv/bin/python bench/settlement.py --bets 200000 --players 50000

What it does:
1. creates a database of its own (``bench_races_settlement``, dropped and created afresh on the
   app's PostgreSQL server) and migrates it; Redis is database 5 of the app's server;
2. creates, set-based, ``--players`` players, a 6-stock race in ``calculating`` with its results
   locked, and ``--bets`` bets (60 % winner, 30 % bracket, 10 % podium, placed over the betting
   window); each player is funded through the ledger module (``credit_many``: one entry of
   100,000 points less their stakes, as if bet placement had debited them);
3. times ``apps.races.settlement.race_settle`` — the one settlement transaction (claim, account
   locks, one statement scoring and updating every bet, payouts, streaks, race standings,
   commit), with per-statement wall and CPU time — and, separately, the after-commit leaderboard task (period totals re-summed from
   the race standings, then copied into Redis);
4. checks: every won bet has exactly one payout entry of its amount, the payouts add up, and
   for every account the balance equals the sum of its ledger.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from _support import recreate_database

BENCH_DB = "bench_races_settlement"
REDIS_DB = 5
SYMBOLS = ["AAPL", "MSFT", "NVDA", "AMZN", "TSLA", "META"]
PCT = [2.5, 1.25, 0.4, -0.3, -1.1, -2.0]


def setup() -> None:
    os.environ["DATABASE_URL"] = recreate_database(BENCH_DB)
    from stockrace import config

    os.environ["REDIS_URL"] = config.redis_url_with_db(os.environ["REDIS_URL"], REDIS_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockrace.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from celery_app import app

    app.conf.task_always_eager = True  # after-commit tasks run here, never on the shared broker


def populate(bets: int, players: int) -> int:
    from datetime import timedelta
    from decimal import Decimal

    from django.db import connection, transaction

    from apps.core.redis import redis_now
    from apps.market.models import Stock
    from apps.points import ledger
    from apps.races.models import Race, RaceEntry
    from apps.races.services import race_create

    for s in SYMBOLS:
        Stock.objects.get_or_create(symbol=s, defaults={"name": s, "sector": "Technology"})
    now = redis_now()
    race = race_create(title="Bench race", duration="5m", symbols=SYMBOLS, starts_at=now - timedelta(minutes=6),
                       betting_window=timedelta(minutes=5))
    Race.objects.filter(pk=race.pk).update(state=Race.State.CALCULATING)
    order = sorted(range(len(SYMBOLS)), key=lambda i: -PCT[i])
    for i, symbol in enumerate(SYMBOLS):
        RaceEntry.objects.filter(race=race, stock__symbol=symbol).update(
            open_price=Decimal("100"), close_price=Decimal(str(100 + PCT[i])), pct_change=Decimal(str(PCT[i])),
            final_position=order.index(i) + 1)
    symbols_sql = "ARRAY[" + ",".join(f"'{s}'" for s in SYMBOLS) + "]"
    with transaction.atomic(), connection.cursor() as c:
        c.execute("""
            INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email, is_staff,
                                       is_active, date_joined, is_house, is_shadow_restricted)
            SELECT '!', false, 'bench-' || g, '', '', '', false, true, now(), g %% 50 = 0, false
            FROM generate_series(1, %s) g""", [players])
        c.execute("INSERT INTO points_pointsaccount (user_id, balance, updated_at) "
                  "SELECT id, 0, now() FROM accounts_user WHERE username LIKE 'bench-%%'")
        c.execute(f"""
            WITH u AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM accounts_user
                       WHERE username LIKE 'bench-%%'),
                 g AS (SELECT g, (g %% 10) AS k, ({symbols_sql})[1 + g %% 6] AS sym,
                              (10 + (g * 7919) %% 190) AS stake FROM generate_series(0, %(bets)s - 1) g)
            INSERT INTO bets_bet (user_id, race_id, kind, stake, symbol, low_pct, high_pct, podium, odds,
                                  potential_payout, placed_at, status, payout)
            SELECT u.id, %(race)s,
                   CASE WHEN k < 6 THEN 'winner' WHEN k < 9 THEN 'bracket' ELSE 'podium' END,
                   stake,
                   CASE WHEN k < 9 THEN sym ELSE '' END,
                   CASE WHEN k BETWEEN 6 AND 8 THEN -1.0 + (g %% 7) * 0.5 END,
                   CASE WHEN k BETWEEN 6 AND 8 THEN -1.0 + (g %% 7) * 0.5 + 0.5 * (1 + g %% 4) END,
                   CASE WHEN k = 9 THEN ARRAY[({symbols_sql})[1 + g %% 6], ({symbols_sql})[1 + (g + 1) %% 6],
                                             ({symbols_sql})[1 + (g + 2) %% 6]]::varchar[] END,
                   CASE WHEN k < 6 THEN 2.0 + (g %% 6) WHEN k < 9 THEN 4.5 ELSE 100 END,
                   (stake * CASE WHEN k < 6 THEN 2.0 + (g %% 6) WHEN k < 9 THEN 4.5 ELSE 100 END)::bigint,
                   %(opens)s + make_interval(secs => (g %% 300)), 'open', 0
            FROM g JOIN u ON u.n = g.g %% %(players)s""",
                  {"bets": bets, "race": race.pk, "opens": race.betting_opens_at, "players": players})
        # Funded through the ledger as if bet placement had already debited the stakes: one
        # entry per player of 100,000 points less what their bets staked.
        ledger.lock_accounts(c, user_ids_sql="SELECT user_id FROM points_pointsaccount")
        ledger.credit_many(c, source_sql="""
            SELECT a.user_id, 100000 - COALESCE(s.staked, 0) AS amount, 'bench-fund:' || a.user_id AS key,
                   NULL::bigint AS bet_id, NULL::text AS memo
            FROM points_pointsaccount a
            LEFT JOIN (SELECT user_id, SUM(stake) AS staked FROM bets_bet WHERE race_id = %(race)s GROUP BY user_id) s
              ON s.user_id = a.user_id""", params={"race": race.pk}, kind=ledger.Kind.ADJUSTMENT, memo="bench")
        c.execute("ANALYZE")
    return race.pk


def backend_cpu(pid: int) -> float:
    """CPU seconds (user + system) a PostgreSQL backend has used: /proc/PID/stat, same machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_probe() -> float:
    """A fixed CPU-bound query: how busy the shared machine is (the two cores serve everyone)."""
    from django.db import connection

    with connection.cursor() as c:
        start = time.perf_counter()
        c.execute("SELECT count(*) FROM generate_series(1, 5000000)")
        return time.perf_counter() - start


def verify(race_id: int) -> tuple[int, int]:
    from django.db import connection

    with connection.cursor() as c:
        c.execute("""
            SELECT COUNT(*) FILTER (WHERE l.id IS NULL), COUNT(*), COALESCE(SUM(b.payout), 0),
                   COUNT(*) FILTER (WHERE l.amount <> b.payout)
            FROM bets_bet b LEFT JOIN points_ledgerentry l ON l.idempotency_key = 'payout:' || b.id
            WHERE b.race_id = %s AND b.payout > 0""", [race_id])
        missing, won, total, wrong = c.fetchone()
        c.execute("SELECT COUNT(*) FROM points_ledgerentry WHERE kind = 'payout' AND race_id = %s", [race_id])
        entries = c.fetchone()[0]
        c.execute("SELECT COUNT(*) FROM bets_bet WHERE race_id = %s AND status = 'open'", [race_id])
        still_open = c.fetchone()[0]
        c.execute("""
            SELECT COUNT(*) FROM points_pointsaccount a
            WHERE a.balance <> (SELECT COALESCE(SUM(amount), 0) FROM points_ledgerentry l WHERE l.user_id = a.user_id)""")
        unbalanced = c.fetchone()[0]
    problems = {"won bets without a payout": missing, "payouts of the wrong amount": wrong,
                "bets left open": still_open, "accounts whose balance != ledger sum": unbalanced,
                "payout entries != won bets": entries - won}
    bad = {k: v for k, v in problems.items() if v}
    if bad:
        raise SystemExit(f"CHECK FAILED: {bad}")
    return won, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bets", type=int, default=100_000)
    parser.add_argument("--players", type=int, default=20_000)
    args = parser.parse_args()
    t0 = time.perf_counter()
    setup()
    probe = load_probe()
    t1 = time.perf_counter()
    race_id = populate(args.bets, args.players)
    t2 = time.perf_counter()
    print(f"setup: database migrated in {t1 - t0:.1f} s; {args.bets:,} bets from {args.players:,} players "
          f"created in {t2 - t1:.1f} s")

    from django.db import connection, transaction

    from apps.leaderboards.services import leaderboard_sync_race
    from apps.races import settlement

    # Time the transaction alone: the after-commit hooks (Redis leaderboards, events) are timed apart.
    hooks = []
    original = transaction.on_commit
    transaction.on_commit = lambda func, using=None, robust=False: hooks.append(func)
    statements = []

    def timed(execute, sql, params, many, context):
        began, cpu = time.perf_counter(), backend_cpu(backend)
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append((time.perf_counter() - began, backend_cpu(backend) - cpu, " ".join(sql.split())[:60]))

    with connection.cursor() as c:
        c.execute("SELECT pg_backend_pid()")
        backend = c.fetchone()[0]
    try:
        with connection.execute_wrapper(timed):
            cpu_before = backend_cpu(backend), time.process_time()
            start = time.perf_counter()
            result = settlement.race_settle(race_id=race_id)
            settle_s = time.perf_counter() - start
            cpu_pg, cpu_py = backend_cpu(backend) - cpu_before[0], time.process_time() - cpu_before[1]
    finally:
        transaction.on_commit = original
    start = time.perf_counter()
    leaderboard_sync_race(race_id=race_id)
    sync_s = time.perf_counter() - start
    won, total = verify(race_id)
    assert result is not None and result.paid == total and result.payouts == won
    again = settlement.race_settle(race_id=race_id)
    assert again is None, "a second settlement must find nothing to do"
    print(f"settlement transaction: {settle_s:.3f} s for {result.bets:,} bets "
          f"({result.bets / settle_s:,.0f} bets/s); {won:,} payouts, {total:,} points")
    print(f"  CPU time: PostgreSQL backend {cpu_pg:.3f} s + Python {cpu_py:.3f} s = {cpu_pg + cpu_py:.3f} s "
          f"(what the transaction costs on an otherwise idle core, I/O waits aside)")
    for seconds, cpu, sql in sorted(statements, reverse=True)[:6]:
        print(f"    {seconds:7.3f} s wall {cpu:6.2f} s CPU  {sql}")
    print(f"    {settle_s - sum(d for d, _, _ in statements):7.3f} s wall {cpu_pg - sum(c for _, c, _ in statements):6.2f} s CPU"
          "  commit (deferred foreign-key checks) and Python")
    print(f"after commit (leaderboards_sync_race task): period totals re-summed from the standings and copied to Redis: {sync_s:.3f} s")
    print("checks: every won bet paid exactly once, totals exact, balance == ledger for every account; "
          "second run: nothing to do")
    print(f"load probe (SELECT count(*) FROM generate_series(1, 5000000)): {probe:.2f} s before, "
          f"{load_probe():.2f} s after — compare runs only at similar probe times")
    print("RESULT", "PASS" if settle_s < 3.0 else "FAIL", f"(target < 3 s, measured {settle_s:.3f} s wall, "
          f"{cpu_pg + cpu_py:.3f} s CPU)")


if __name__ == "__main__":
    main()
