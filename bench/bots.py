"""Benchmark: how well fair play tells bots from people, through the real HTTP API of a running stack.

    .venv/bin/python bench/bots.py                       # default population, 16 rounds
    .venv/bin/python bench/bots.py --rounds 10 --window 8 --scale 0.5   # a quick smoke run

What it does:
1. creates a database of its own (``bench_bots``, dropped and created afresh, on the app's
   PostgreSQL server) and a Redis database of its own (``--redis-db``, flushed), migrates, and
   starts one daphne server and one Celery worker on them. The server trusts 127.0.0.1 as a
   proxy (TRUSTED_PROXIES), so each simulated player's address travels in X-Forwarded-For, as
   nginx would put it: every request goes to 127.0.0.1, the addresses are only header values
   (from 198.18.0.0/15, the benchmarking range);
2. plays ``--rounds`` rounds: the bench opens ``--races`` races (4 stocks each, betting open
   ``--window`` seconds), the population bets through POST /api/v1/races/{id}/bets/ (tokens from
   /api/v1/auth/token/, accounts from /api/v1/auth/register/), then the bench closes the races
   and settles them with a winner drawn uniformly (so the odds are fair and luck is luck).
   Settlement enqueues the fair-play rescoring; the worker scores everyone as in production;
3. reports, per kind of player, how many were shadow-restricted automatically and how many were
   queued for review (restricted or queued), the precision and recall of both, and the targets:
   at least 95 % of bots restricted or queued, at most 1 % of humans restricted automatically,
   no power user restricted.

The population (``--scale`` multiplies the counts):
- humans: casual (bet in about a third of rounds), power users (bet on almost every race, 1-3
  bets, human timing: 2.2 s to most of the window after opening), lucky (casual, plus one streak
  of five winning picks in a row); some share a household's address, some share a popular
  phone's fingerprint (across networks), all use the app's user agent;
- bots: instant bettors (tens of ms after opening; some with a scripted user agent, some
  pretending to be a browser), a sign-up farm (accounts created within seconds on one address
  and one device, each collecting the bonus and betting once), a copy ring (a leader and
  followers placing the same bets a second later), regular-interval scripts (a bet every 3.0 s),
  and oracles (the winner every race, with human timing and the app's user agent).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from _support import BASE_DIR, cpu_probe, free_ports, processes, recreate_database, use_app_services

BENCH_DB = "bench_bots"
SYMBOLS = ["AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "GOOG", "META", "NFLX"]
APP_UA = "StockRace/2.4 (Android 14; {model})"
MODELS = ["Pixel 8", "Galaxy S24", "iPhone15,2", "Pixel 7a", "Galaxy A54", "iPhone14,5", "Xperia 10"]
BROWSER_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/131.0.0.0 Safari/537.36")
PASSWORD = "bench-Passphrase-7"
BOTS = ("instant", "farm", "copy", "regular", "oracle")


# --------------------------------------------------------------------------- the stack


def start_stack(args) -> tuple[dict, processes.Processes, int]:
    from stockrace import config

    use_app_services()
    database_url = recreate_database(BENCH_DB)
    redis_url = config.redis_url_with_db(os.environ["REDIS_URL"], args.redis_db)
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "TRUSTED_PROXIES": "127.0.0.1/32",
           "LOG_LEVEL": "WARNING", "REDIS_PUBSUB_PREFIX": f"bench{args.redis_db}:", "DB_CONN_MAX_AGE": "300",
           "CELERY_TASK_ALWAYS_EAGER": "0", "PYTHONUNBUFFERED": "1"}
    for name in ("STOCKRACE_TESTING", "PYTEST_CURRENT_TEST", "STOCKRACE_TEST_DB_NAME", "REDIS_TEST_DB"):
        env.pop(name, None)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "TRUSTED_PROXIES", "REDIS_PUBSUB_PREFIX",
                                           "CELERY_TASK_ALWAYS_EAGER")})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockrace.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from apps.core.redis import get_redis

    get_redis().flushdb()
    call_command("migrate", verbosity=0)
    log = BASE_DIR / "var" / "bench_bots.log"
    port = free_ports(1, range(8700, 8800))[0]
    # One server and one worker (tests/support): ready once HTTP answers / Celery says so.
    procs = processes.Processes([processes.daphne(port, env=env, output=log, timeout=90),
                                 processes.celery_worker(env=env, output=log)])
    return env, procs, port


def call(port: int, method: str, path: str, body=None, headers: dict | None = None, conn=None):
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=payload, headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        data = response.read()
        try:
            return response.status, json.loads(data) if data else None
        except ValueError:
            return response.status, None
    finally:
        if own:
            conn.close()


# --------------------------------------------------------------------------- the population


@dataclass
class Actor:
    name: str
    kind: str  # casual, power, lucky, instant, farm, copy, regular, oracle
    address: str
    device: str
    user_agent: str
    languages: str = "en-GB,en;q=0.9"
    token: str = ""
    user_id: int = 0
    streak_at: int = -1  # lucky: the round their five-win streak starts
    leader: "Actor | None" = None
    followers: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    conn: http.client.HTTPConnection | None = None

    @property
    def bot(self) -> bool:
        return self.kind in BOTS

    def headers(self) -> dict:
        h = {"X-Forwarded-For": self.address, "User-Agent": self.user_agent, "X-Device": self.device}
        if self.languages:
            h["Accept-Language"] = self.languages
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        return h

    def request(self, port, method, path, body=None):
        with self.lock:
            for _ in range(2):  # a keep-alive connection the server closed meanwhile: once more, anew
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                try:
                    return call(port, method, path, body, self.headers(), conn=self.conn)
                except (OSError, http.client.HTTPException):
                    self.conn.close()
                    self.conn = None
            return 0, None


def population(scale: float, rng: random.Random) -> list[Actor]:
    def n(count):
        return max(1, round(count * scale))

    actors: list[Actor] = []
    # One /24 each (the sign-up limit per network is real here too), from 198.18.0.0/15.
    addr = iter(f"198.{18 + (i // 250) % 2}.{i % 250}.{(i * 37) % 250 + 1}" for i in range(1, 500))
    popular_phone = "popular-phone-fp-0001"  # one model's fingerprint, on many networks
    for kind, count in (("casual", n(40)), ("power", n(15)), ("lucky", n(6))):
        for i in range(count):
            a = Actor(f"{kind}{i}", kind, next(addr), popular_phone if rng.random() < 0.2 else f"dev-{kind}-{i:04d}x",
                      APP_UA.format(model=rng.choice(MODELS)))
            if kind == "lucky":
                a.streak_at = rng.randrange(1, 6)
            actors.append(a)
    humans = [a for a in actors]
    for i in range(0, n(8), 2):  # households: two people behind one address
        if i + 1 < len(humans):
            humans[i + 1].address = humans[i].address
    for i in range(n(5)):
        scripted = i % 5 < 3
        actors.append(Actor(f"instant{i}", "instant", next(addr), f"dev-instant-{i:04d}",
                            f"python-requests/2.32.{i}" if scripted else BROWSER_UA, languages="" if scripted else ""))
    farm_addr, farm_dev = next(addr), "farm-device-0001"
    for i in range(n(12)):
        actors.append(Actor(f"farm{i}", "farm", farm_addr, farm_dev, APP_UA.format(model="Pixel 8")))
    ring_addr = next(addr)
    leader = Actor("copy0", "copy", ring_addr, "dev-copy-0000", APP_UA.format(model="Galaxy S24"))
    actors.append(leader)
    for i in range(1, n(5)):
        follower = Actor(f"copy{i}", "copy", ring_addr, f"dev-copy-{i:04d}", APP_UA.format(model="Galaxy S24"),
                         leader=leader)
        leader.followers.append(follower)
        actors.append(follower)
    for i in range(n(3)):
        actors.append(Actor(f"regular{i}", "regular", next(addr), f"dev-regular-{i:04d}",
                            APP_UA.format(model=rng.choice(MODELS))))
    for i in range(n(2)):
        actors.append(Actor(f"oracle{i}", "oracle", next(addr), f"dev-oracle-{i:04d}",
                            APP_UA.format(model=rng.choice(MODELS))))
    return actors


def sign_up(port: int, actor: Actor) -> None:
    status, body = actor.request(port, "POST", "/api/v1/auth/register/",
                                 {"username": f"b-{actor.name}", "password": PASSWORD})
    if status != 201:
        raise SystemExit(f"sign-up of {actor.name} refused: {status} {body}")
    actor.user_id = body["id"]
    status, body = actor.request(port, "POST", "/api/v1/auth/token/", {"username": f"b-{actor.name}",
                                                                      "password": PASSWORD})
    if status != 200:
        raise SystemExit(f"login of {actor.name} refused: {status} {body}")
    actor.token = body["access"]


# --------------------------------------------------------------------------- a round


@dataclass
class Round:
    number: int
    races: list[tuple[int, list[str]]]  # (race id, symbols)
    winners: dict[int, str]
    opened_at: float
    closes_at: float


def bet(port, actor: Actor, race_id: int, body: dict, stats: Counter) -> bool:
    status, answer = actor.request(port, "POST", f"/api/v1/races/{race_id}/bets/", body)
    stats[f"{actor.kind}:{status}"] += 1
    if status == 201:
        for follower in actor.followers:  # the copy ring: the same bet, a second later
            threading.Timer(random.uniform(0.3, 1.5), bet, args=(port, follower, race_id, dict(body), stats)).start()
    return status == 201


def human_bets(port, actor: Actor, rnd: Round, rng: random.Random, stats: Counter, window: float) -> None:
    if actor.kind == "casual" or actor.kind == "lucky":
        if rng.random() > 0.35 and not (actor.kind == "lucky" and 0 <= rnd.number - actor.streak_at < 5):
            return
        plan = [rng.choice(rnd.races)]
    else:  # power: nearly every race, one to three bets
        plan = [r for r in rnd.races if rng.random() < 0.95]
    times = spaced(len(plan), 2.2, max(2.5, window - 0.8), rng, gap=6.0 if actor.kind == "power" else 2.4)
    for (race_id, symbols), delay in zip(plan, times):
        wait_until(rnd.opened_at + delay)
        lucky = actor.kind == "lucky" and 0 <= rnd.number - actor.streak_at < 5
        symbol = rnd.winners[race_id] if lucky else rng.choice(symbols)
        stake = rng.choice([5, 10, 10, 20, 25, 50, 100])
        bet(port, actor, race_id, {"kind": "winner", "stake": stake, "symbol": symbol}, stats)
        if actor.kind == "power" and rng.random() < 0.5 and time.time() + 3 < rnd.closes_at:
            time.sleep(rng.uniform(2.3, 3.5))  # a second bet on the same race: a bracket
            low = round(rng.uniform(-1.0, 0.5), 1)
            bet(port, actor, race_id, {"kind": "bracket", "stake": stake, "symbol": rng.choice(symbols),
                                       "low_pct": low, "high_pct": round(low + 0.5, 1)}, stats)


def bot_bets(port, actor: Actor, rnd: Round, rng: random.Random, stats: Counter, window: float, farm_done: set):
    if actor.kind == "instant":
        for race_id, symbols in rnd.races:
            wait_until(rnd.opened_at + rng.uniform(0.02, 0.15))
            bet(port, actor, race_id, {"kind": "winner", "stake": 10, "symbol": rng.choice(symbols)}, stats)
    elif actor.kind == "oracle":
        for (race_id, _), delay in zip(rnd.races, spaced(len(rnd.races), 2.5, max(3.0, window - 1), rng)):
            wait_until(rnd.opened_at + delay)
            bet(port, actor, race_id, {"kind": "winner", "stake": 20, "symbol": rnd.winners[race_id]}, stats)
    elif actor.kind == "copy" and actor.leader is None:
        race_id, symbols = rng.choice(rnd.races)
        wait_until(rnd.opened_at + rng.uniform(2.5, max(3.0, window - 2.5)))
        bet(port, actor, race_id, {"kind": "winner", "stake": 13, "symbol": rng.choice(symbols)}, stats)
    elif actor.kind == "farm" and actor.name not in farm_done:
        race_id, symbols = rng.choice(rnd.races)
        wait_until(rnd.opened_at + rng.uniform(2.5, max(3.0, window - 1)))
        if bet(port, actor, race_id, {"kind": "winner", "stake": 50, "symbol": rng.choice(symbols)}, stats):
            farm_done.add(actor.name)


def regular_loop(port, actor: Actor, current: dict, stop: threading.Event, stats: Counter, period: float):
    """A bet every ``period`` seconds on whatever race is open (refusals between rounds ignored)."""
    next_at = time.time() + 1
    rng = random.Random(actor.name)
    while not stop.is_set():
        wait_until(next_at)
        next_at += period
        rnd = current.get("round")
        if rnd and time.time() < rnd.closes_at - 0.2:
            race_id, symbols = rnd.races[0]
            bet(port, actor, race_id, {"kind": "winner", "stake": 2, "symbol": rng.choice(symbols)}, stats)


def spaced(count: int, low: float, high: float, rng: random.Random, gap: float = 2.4) -> list[float]:
    """``count`` random moments in [low, high], at least ``gap`` apart (the bet cooldown is 2 s)."""
    span = max(0.0, high - low - gap * (count - 1))
    return [low + t + gap * i for i, t in enumerate(sorted(rng.uniform(0, span) for _ in range(count)))]


def wait_until(t: float) -> None:
    delay = t - time.time()
    if delay > 0:
        time.sleep(delay)


def open_round(number: int, races: int, window: float, rng: random.Random) -> Round:
    from datetime import timedelta

    from apps.bets.services import race_odds_publish
    from apps.core.redis import redis_now
    from apps.races.models import Race, RaceTransition
    from apps.races.services import race_create

    from apps.races import scheduling

    # The bench plays the race lifecycle itself (open, close, settle): no transition tasks.
    scheduling.schedule_upcoming_on_commit = lambda race: None
    now = redis_now()
    made = []
    for _ in range(races):
        symbols = rng.sample(SYMBOLS, 4)
        race = race_create(title=f"Bench round {number}", duration="5m", symbols=symbols,
                           starts_at=now + timedelta(seconds=window), betting_window=timedelta(seconds=window))
        made.append((race.pk, symbols))
    opened = redis_now()
    for race_id, _ in made:
        Race.objects.filter(pk=race_id).update(state=Race.State.OPEN)
        RaceTransition.objects.create(race_id=race_id, from_state=Race.State.SCHEDULED, to_state=Race.State.OPEN,
                                      at=opened, cause="bench")
        race_odds_publish(race_id=race_id)
    opened_ts = time.time()
    return Round(number, made, {race_id: rng.choice(symbols) for race_id, symbols in made}, opened_ts,
                 opened_ts + window)


def settle_round(rnd: Round) -> None:
    from decimal import Decimal

    from apps.races.models import Race, RaceEntry
    from apps.races.settlement import race_settle

    for race_id, symbols in rnd.races:
        order = [rnd.winners[race_id]] + [s for s in symbols if s != rnd.winners[race_id]]
        for entry in RaceEntry.objects.filter(race_id=race_id).select_related("stock"):
            pos = order.index(entry.stock.symbol) + 1
            RaceEntry.objects.filter(pk=entry.pk).update(open_price=Decimal(100), close_price=Decimal(100 + 4 - pos),
                                                         pct_change=Decimal(4 - pos), final_position=pos)
        Race.objects.filter(pk=race_id).update(state=Race.State.CALCULATING)
        race_settle(race_id=race_id)


def wait_for_worker(timeout: float = 300) -> None:
    """Until the broker queue is empty and the scores stopped changing."""
    from django.db.models import Max

    from apps.botdetect.models import Suspicion
    from apps.core.redis import get_redis

    client, deadline, last = get_redis(), time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        pending = client.llen("celery")
        latest = Suspicion.objects.aggregate(m=Max("computed_at"))["m"]
        if pending == 0 and latest == last:
            return
        last = latest
        time.sleep(3)


# --------------------------------------------------------------------------- the report


def report(actors: list[Actor], stats: Counter, args, elapsed: float, probe: float) -> None:
    from apps.botdetect.models import Suspicion

    cases = {s.user_id: s for s in Suspicion.objects.all()}
    rows = defaultdict(lambda: Counter())
    for a in actors:
        case = cases.get(a.user_id)
        status = case.status if case else "none"
        rows[a.kind]["n"] += 1
        rows[a.kind]["restricted"] += status == "restricted"
        rows[a.kind]["flagged"] += status in ("restricted", "queued")
    print(f"\nfair play bench: {len(actors)} players, {args.rounds} rounds x {args.races} races, "
          f"{args.window:g} s betting window, {elapsed:.0f} s; CPU probe {probe:.2f} s")
    print(f"{'kind':<9} {'players':>7} {'restricted':>10} {'flagged':>8}   (flagged = restricted or queued)")
    for kind in ("casual", "power", "lucky", *BOTS):
        r = rows[kind]
        print(f"{kind:<9} {r['n']:>7} {r['restricted']:>10} {r['flagged']:>8}")
    bots = [a for a in actors if a.bot]
    humans = [a for a in actors if not a.bot]

    def measure(flag):
        tp = sum(1 for a in bots if flag(a))
        fp = sum(1 for a in humans if flag(a))
        precision = tp / (tp + fp) if tp + fp else 1.0
        return tp, fp, precision, tp / len(bots)

    restricted = lambda a: cases.get(a.user_id) is not None and cases[a.user_id].status == "restricted"  # noqa: E731
    flagged = lambda a: cases.get(a.user_id) is not None and cases[a.user_id].status in ("restricted", "queued")  # noqa
    for label, flag in (("automatic restriction", restricted), ("review flags", flagged)):
        tp, fp, precision, recall = measure(flag)
        print(f"{label:<22} precision {precision:6.1%}  recall {recall:6.1%}  ({tp} bots, {fp} humans)")
    bot_recall = measure(flagged)[3]
    humans_restricted = sum(1 for a in humans if restricted(a)) / len(humans)
    power_restricted = sum(1 for a in humans if a.kind == "power" and restricted(a))
    print(f"targets: bots restricted or queued {bot_recall:.1%} (>= 95 %) "
          f"{'met' if bot_recall >= 0.95 else 'MISSED'}; humans restricted {humans_restricted:.1%} (<= 1 %) "
          f"{'met' if humans_restricted <= 0.01 else 'MISSED'}; power users restricted {power_restricted} (0) "
          f"{'met' if power_restricted == 0 else 'MISSED'}")
    refused = {k: v for k, v in stats.items() if not k.endswith(":201")}
    print(f"bets accepted {sum(v for k, v in stats.items() if k.endswith(':201'))}, answers other than 201: "
          f"{dict(sorted(refused.items()))}")
    for a in actors:
        case = cases.get(a.user_id)
        if case and ((a.bot and case.status == "none") or (not a.bot and case.status != "none")):
            print(f"  {a.name:<10} {case.status:<10} score {case.score:5.1f} {case.families}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--races", type=int, default=2, help="races open at once in each round")
    parser.add_argument("--window", type=float, default=12.0, help="seconds betting stays open")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every group's size")
    parser.add_argument("--period", type=float, default=3.0, help="the regular-interval scripts' period")
    parser.add_argument("--redis-db", type=int, default=12)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    probe = cpu_probe()
    rng = random.Random(args.seed)
    env, procs, port = start_stack(args)
    started = time.time()
    try:
        for symbol in SYMBOLS:
            from apps.market.models import Stock

            Stock.objects.get_or_create(symbol=symbol, defaults={"name": symbol, "sector": "Technology",
                                                                 "reference_price": 100})
        actors = population(args.scale, rng)
        farm = [a for a in actors if a.kind == "farm"]
        for actor in [a for a in actors if a.kind != "farm"]:
            sign_up(port, actor)
        for actor in farm:  # the farm: one after another, as fast as the script goes
            sign_up(port, actor)
        stats: Counter = Counter()
        current: dict = {}
        stop = threading.Event()
        loops = [threading.Thread(target=regular_loop, args=(port, a, current, stop, stats, args.period), daemon=True)
                 for a in actors if a.kind == "regular"]
        for loop in loops:
            loop.start()
        farm_done: set = set()
        for number in range(args.rounds):
            rnd = open_round(number, args.races, args.window, rng)
            current["round"] = rnd
            threads = []
            for actor in actors:
                if actor.kind in ("casual", "power", "lucky"):
                    target = human_bets
                elif actor.kind in ("instant", "oracle", "farm") or (actor.kind == "copy" and actor.leader is None):
                    target = bot_bets
                else:
                    continue
                extra = (farm_done,) if target is bot_bets else ()
                threads.append(threading.Thread(target=target, args=(port, actor, rnd, random.Random(rng.random()),
                                                                     stats, args.window, *extra)))
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wait_until(rnd.closes_at + 0.3)
            current.pop("round", None)
            settle_round(rnd)
            print(f"round {number + 1}/{args.rounds} settled", flush=True)
        stop.set()
        wait_for_worker()
        report(actors, stats, args, time.time() - started, probe)
    finally:
        procs.stop()


if __name__ == "__main__":
    main()
