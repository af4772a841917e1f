"""Soak test: mixed load on a private stack while its processes are killed and restarted.

    .venv/bin/python bench/soak.py                          # 20 minutes (the issue's run)
    .venv/bin/python bench/soak.py --minutes 3              # a smoke run
    .venv/bin/python bench/soak.py --minutes 20 --write-doc # and put the results in docs/RELIABILITY.md

The stack is its own: a temporary STOCKRACE_VAR_DIR with an embedded PostgreSQL and Redis that
this script starts (stockrace/embedded.py) and stops, free ports, and every process of the
Procfile — two web processes (daphne), the Celery worker, beat, the exchange simulator, the
market-data worker and the race engine — started with tests/support/processes.py. Nothing of the
shared servers under ./var (or DATABASE_URL / REDIS_URL of the calling shell) is used.

Load, for ``--minutes``: ``--viewers`` WebSocket viewers on the running races, spread over both
web processes; ``--bet-rate`` bets a second through the HTTP API (bearer tokens, an
Idempotency-Key each, retried on the other web process when a connection breaks); ``--read-rate``
API reads a second (race list and detail, leaderboard, quotes, /me/, /me/bets/);
``--quote-clients`` /ws/quotes/ subscribers. The script keeps races coming: one every
``--race-every`` seconds, open for bets ``--betting-seconds``, running ``--race-seconds``, so that
races settle and pay during the run.

Chaos: every ``--kill-every`` seconds one of web-1, the worker, the engine and the market-data
worker (in turn) gets SIGKILL and is started again ``--restart-after`` seconds later, as a
supervisor would; Redis is restarted once, half-way (SHUTDOWN, then started on its socket).
web-2, beat and the exchange simulator are never killed: their memory shows a leak if any.

Report (a markdown block, also with ``--write-doc`` in docs/RELIABILITY.md): bets accepted and
lost (answered 201 but not in PostgreSQL with their stake entry), payouts doubled (more than one
payout entry for a bet, or paid entries not summing to the bet's payout), balance == ledger for
every account, each process's memory (RSS of its process tree) at the start and the end of the
load, and the viewers' recovery after each kill: from the kill to the next frame each viewer
watching at that moment received.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from _soak_report import DOC, final_checks, report, wait_for_settlement, write_doc
from _support import BASE_DIR, cpu_probe, read_response

from tests.support import processes
from tests.support.env import PYTHON, free_ports

# What the calling shell may carry that must not reach the private stack.
NOT_INHERITED = ("DATABASE_URL", "REDIS_URL", "STOCKRACE_EMBEDDED", "STOCKRACE_TESTING", "STOCKRACE_TEST_DB_NAME",
                 "REDIS_TEST_DB", "REDIS_PUBSUB_PREFIX", "CELERY_TASK_ALWAYS_EAGER", "PYTEST_CURRENT_TEST",
                 "DJANGO_ALLOW_ASYNC_UNSAFE", "SECRET_KEY", "STOCKRACE_VAR_DIR")
KILLED = ("web-1", "worker", "engine", "marketdata")
SYMBOLS = ("AAPL", "MSFT", "NVDA", "GOOGL", "META", "AMZN", "TSLA", "JPM", "XOM", "KO", "NFLX", "DIS")


def say(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --------------------------------------------------------------------------- the private stack


class Stack:
    """The embedded PostgreSQL and Redis of a temporary var directory, and the app's processes."""

    def __init__(self, args):
        self.args = args
        self.dir = Path(tempfile.mkdtemp(prefix="stockrace-soak-"))
        self.dir.chmod(0o755)  # the embedded PostgreSQL runs as a user of its own, which must reach it
        self.logs = self.dir / "logs"
        self.logs.mkdir()
        self.web_ports = free_ports(2)
        self.exchange_port = free_ports(1)[0]
        self.procs: dict[str, processes.Process] = {}
        self.restarts = dict.fromkeys(("web-1", "web-2", "worker", "beat", "exchange", "marketdata", "engine"), 0)
        self.incarnations: dict[str, int] = {}
        self.env: dict[str, str] = {}

    # -- embedded servers (stockrace/embedded.py, pointed at our directory)
    def start_servers(self) -> None:
        for name in NOT_INHERITED:
            os.environ.pop(name, None)
        os.environ["STOCKRACE_VAR_DIR"] = str(self.dir)
        from stockrace import embedded

        assert embedded.var_dir() == self.dir.resolve(), "the soak must use its own var directory"
        database_url, redis_url = embedded.ensure_postgres(), embedded.ensure_redis()
        minutes = self.args.minutes
        self.env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
        self.env.update(
            STOCKRACE_VAR_DIR=str(self.dir), DATABASE_URL=database_url, REDIS_URL=redis_url,
            SECRET_KEY=secrets.token_urlsafe(48), DJANGO_SETTINGS_MODULE="stockrace.settings", PYTHONUNBUFFERED="1",
            PATH=f"{Path(PYTHON).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            EXCHANGE_SIM_HOST="127.0.0.1", EXCHANGE_SIM_PORT=str(self.exchange_port),
            EXCHANGE_SIM_SYMBOLS="0", MARKET_DATA_PROVIDER="simulator",
            # Tokens minted here outlive the run; every client shares one address (limits per address raised).
            JWT_ACCESS_MINUTES=str(int(minutes) + 30), API_THROTTLE_ANON="100000/min", API_THROTTLE_USER="100000/min",
            BET_RATE_LIMIT_IP="100000/min", RACE_LOBBY_TARGET="0", LOG_LEVEL="INFO")
        os.environ.update(self.env)
        say(f"private stack in {self.dir}: {database_url}, {redis_url}")

    def redis_restart(self) -> float:
        """SHUTDOWN (with its save) and start again on the same socket; returns the seconds down."""
        from stockrace import embedded

        began = time.monotonic()
        embedded.stop_redis()
        deadline = time.monotonic() + 15
        while embedded._redis_alive(embedded.redis_socket()) and time.monotonic() < deadline:
            time.sleep(0.05)
        embedded.ensure_redis()
        return time.monotonic() - began

    def stop_servers(self) -> None:
        from stockrace import embedded

        if Path(os.environ.get("STOCKRACE_VAR_DIR", "")) == self.dir:  # never the shared ./var
            embedded.stop_all()

    # -- the app's processes (tests/support/processes.py)
    def start(self, role: str) -> processes.Process:
        self.incarnations[role] = self.incarnations.get(role, 0) + 1
        log = self.logs / f"{role}-{self.incarnations[role]}.log"  # its own: readiness reads this start's lines
        env = dict(self.env)
        if role.startswith("web"):
            port = self.web_ports[int(role[-1]) - 1]
            proc = processes.daphne(port, env={**env, "DB_CONN_MAX_AGE": "300"}, output=log, name=role, timeout=180)
        elif role == "worker":
            proc = processes.Process(role, [PYTHON, "-m", "celery", "-A", "celery_app", "worker", "--loglevel=INFO",
                                            "--concurrency=2", "-n", f"soak-{uuid.uuid4().hex[:6]}@%h"],
                                     env=env, output=log, new_session=True)
            proc.wait_log(" ready.", timeout=180)
        elif role == "beat":
            proc = processes.Process(role, [PYTHON, "-m", "celery", "-A", "celery_app", "beat", "--loglevel=INFO",
                                            "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler"],
                                     env=env, output=log, new_session=True)
            proc.wait_log("beat: Starting", timeout=180)
        elif role == "exchange":
            proc = processes.manage("run_exchange_sim", env=env, output=log, name=role)
            proc.wait_until(processes.listening(self.exchange_port), timeout=180, what="listening")
        elif role == "marketdata":
            proc = processes.manage("run_market_data", env=env, output=log, name=role)
            proc.wait_log("market-data worker: provider", timeout=180)
        elif role == "engine":
            proc = processes.race_engine(env=env, output=log)
        else:
            raise ValueError(role)
        self.procs[role] = proc
        return proc

    def port_of(self, role: str) -> int | None:
        return self.web_ports[int(role[-1]) - 1] if role.startswith("web") else None

    def why_exited(self, role: str) -> str:
        """The last error line of a process that exited by itself."""
        lines = [line for line in self.procs[role].log().splitlines()
                 if "CRITICAL" in line or "Unrecoverable" in line or re.match(r"^[\w.]+(Error|Exception)\b", line)]
        return lines[-1][-160:] if lines else "no error in its log"

    def kill(self, role: str) -> None:
        proc = self.procs[role]
        proc.kill()  # SIGKILL (the whole group for the worker and beat: their children too)
        proc.stop(timeout=1)  # reaped already: this only closes its log

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            proc.stop(timeout=15)


def tree_rss_mb(pid: int) -> float | None:
    import psutil

    try:
        root = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 2**20
    except psutil.Error:
        return None


def server_pids(stack: Stack) -> dict[str, int]:
    pids = {}
    for name, path in (("postgres", stack.dir / "pg" / "postmaster.pid"), ("redis", stack.dir / "redis" / "redis.pid")):
        try:
            pids[name] = int(path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return pids


def memory(stack: Stack) -> dict[str, float | None]:
    out = {role: tree_rss_mb(proc.pid) for role, proc in stack.procs.items()}
    out.update({name: tree_rss_mb(pid) for name, pid in server_pids(stack).items()})
    return out


# --------------------------------------------------------------------------- Django in this process


def django_setup() -> None:
    import django

    django.setup()
    import celery_app  # noqa: F401 - the configured Celery app: race_create schedules its transitions


def seed(players: int) -> list[tuple[int, str]]:
    """Migrations, the demo stocks and ``players`` players (their sign-up bonus through the ledger);
    returns (user id, bearer token) per player."""
    from django.core.management import call_command
    from rest_framework_simplejwt.tokens import AccessToken

    from apps.accounts.services import user_register
    from apps.market.services import stock_upsert_demo_universe

    call_command("migrate", interactive=False, verbosity=0)
    stock_upsert_demo_universe()
    out = []
    for n in range(players):
        user = user_register(username=f"soak{n:04d}", password=f"soak-{secrets.token_hex(8)}")
        out.append((user.pk, str(AccessToken.for_user(user))))
    return out


@dataclass
class RaceInfo:
    id: int
    symbols: list[str]
    opens: float  # time.time() of each moment (the Redis clock is this machine's)
    starts: float
    ends: float


def race_make(args) -> RaceInfo:
    from apps.core.redis import redis_now
    from apps.races.models import Race
    from apps.races.services import race_create

    symbols = random.sample(SYMBOLS, 4)
    now = redis_now()
    starts = now + timedelta(seconds=args.betting_seconds)
    race = race_create(title=f"Soak {now:%H:%M:%S}", duration=Race.Duration.SPRINT_5M, symbols=symbols,
                       starts_at=starts, betting_window=timedelta(seconds=args.betting_seconds))
    ends = starts + timedelta(seconds=args.race_seconds)
    Race.objects.filter(pk=race.pk).update(ends_at=ends)  # shorter than 5 minutes: the sweep ends it on time
    return RaceInfo(race.pk, symbols, race.betting_opens_at.timestamp(), starts.timestamp(), ends.timestamp())


# --------------------------------------------------------------------------- the load


@dataclass
class Results:
    bets: list[dict] = field(default_factory=list)  # every 201: bet id, user, stake
    bet_status: dict[str, int] = field(default_factory=dict)
    read_status: dict[str, int] = field(default_factory=dict)
    quotes_received: int = 0
    quote_reconnects: int = 0
    events: list[dict] = field(default_factory=list)  # kills and the Redis restart
    viewers: list[list[tuple[float, int, int]]] = field(default_factory=list)  # per viewer: (t, port, race id)
    viewer_connects: int = 0
    races: dict[int, RaceInfo] = field(default_factory=dict)

    def count(self, table: dict, key: str) -> None:
        table[key] = table.get(key, 0) + 1


async def http(port: int, method: str, path: str, *, token: str | None = None, body: dict | None = None,
               headers: dict | None = None, timeout: float = 15) -> tuple[int, bytes]:
    payload = json.dumps(body).encode() if body is not None else b""
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close",
             f"Content-Length: {len(payload)}"]
    if body is not None:
        lines.append("Content-Type: application/json")
    if token:
        lines.append(f"Authorization: Bearer {token}")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        await writer.drain()
        return await asyncio.wait_for(read_response(reader), timeout)
    finally:
        writer.close()


class Load:
    def __init__(self, args, stack: Stack, players: list[tuple[int, str]], results: Results):
        self.args, self.stack, self.players, self.r = args, stack, players, results
        self.stop = asyncio.Event()
        self.ports = stack.web_ports
        self.busy: set[str] = set()  # roles being killed or restarted

    def races_where(self, test) -> list[RaceInfo]:
        now = time.time()
        return [race for race in self.r.races.values() if test(race, now)]

    # -- races
    async def race_maker(self) -> None:
        while not self.stop.is_set():
            try:
                race = await asyncio.to_thread(race_make, self.args)
                self.r.races[race.id] = race
            except Exception as exc:  # noqa: BLE001 - Redis may be restarting: try again next time
                say(f"race not created: {exc!r}")
            await self._sleep(self.args.race_every)

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.stop.wait(), seconds)
        except TimeoutError:
            pass

    # -- bets
    async def bettor(self) -> None:
        players = itertools.cycle(self.players)
        while not self.stop.is_set():
            races = self.races_where(lambda r, now: r.opens + 3 < now < r.starts - 3)
            if races:
                race = random.choice(races)
                user_id, token = next(players)
                asyncio.ensure_future(self.bet(race, user_id, token))
            await self._sleep(1 / self.args.bet_rate)

    async def bet(self, race: RaceInfo, user_id: int, token: str) -> None:
        stake = random.randint(1, 5)
        if random.random() < 0.7:
            body = {"kind": "winner", "stake": stake, "symbol": random.choice(race.symbols)}
        else:
            body = {"kind": "podium", "stake": stake, "symbols": random.sample(race.symbols, 3)}
        key = uuid.uuid4().hex
        ports = random.sample(self.ports, len(self.ports))
        for attempt in range(6):  # a killed web process: the same bet, same key, on the other one
            try:
                status, data = await http(ports[attempt % len(ports)], "POST", f"/api/v1/races/{race.id}/bets/",
                                          token=token, body=body, headers={"Idempotency-Key": key})
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                await asyncio.sleep(0.3 * (attempt + 1))
                continue
            if status == 201:
                bet = json.loads(data)
                self.r.bets.append({"id": bet["id"], "user": user_id, "stake": stake, "race": race.id, "key": key})
                self.r.count(self.r.bet_status, "201")
            else:
                try:
                    code = json.loads(data)["error"]["code"]
                except (ValueError, KeyError, TypeError):
                    code = "?"
                self.r.count(self.r.bet_status, f"{status} {code}")
            return
        self.r.count(self.r.bet_status, "no answer")

    # -- reads
    async def reader(self) -> None:
        while not self.stop.is_set():
            asyncio.ensure_future(self.read())
            await self._sleep(1 / self.args.read_rate)

    async def read(self) -> None:
        _, token = random.choice(self.players)
        race_ids = list(self.r.races) or [1]
        path, auth = random.choice([
            ("/api/v1/races/", None), (f"/api/v1/races/{random.choice(race_ids)}/", None),
            ("/api/v1/leaderboards/global/", None), ("/api/v1/quotes/?symbols=" + ",".join(SYMBOLS[:5]), None),
            ("/api/v1/me/", token), ("/api/v1/me/bets/", token)])
        for attempt in range(3):
            try:
                status, _ = await http(random.choice(self.ports), "GET", path, token=auth)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                await asyncio.sleep(0.3)
                continue
            self.r.count(self.r.read_status, str(status) if status < 500 else f"{status} on {path.split('?')[0]}")
            return
        self.r.count(self.r.read_status, "no answer")

    # -- WebSocket viewers
    async def viewer(self, index: int) -> None:
        from websockets.asyncio.client import connect

        frames = self.r.viewers[index]
        failures = 0
        while not self.stop.is_set():
            running = self.races_where(lambda r, now: r.starts + 1 < now < r.ends - 5)
            if not running:
                await self._sleep(0.5)
                continue
            race = running[index % len(running)]
            port = self.ports[(index + failures) % len(self.ports)]
            try:
                async with connect(f"ws://127.0.0.1:{port}/ws/races/{race.id}/", open_timeout=10,
                                   max_size=2**20, ping_interval=None) as ws:
                    self.r.viewer_connects += 1
                    failures = 0
                    while not self.stop.is_set() and time.time() < race.ends - 2:
                        try:
                            text = await asyncio.wait_for(ws.recv(), 2)
                        except TimeoutError:
                            continue
                        if text.startswith('{"type":"frame"'):
                            frames.append((time.monotonic(), port, race.id))
                        elif text.startswith('{"type":"ping"'):
                            await ws.send('{"type":"ping"}')
            except Exception:  # noqa: BLE001 - a dropped or refused socket: the next port, soon
                failures += 1
                await asyncio.sleep(min(0.2 * 2 ** min(failures, 4), 2))

    async def quote_client(self, index: int) -> None:
        from websockets.asyncio.client import connect

        while not self.stop.is_set():
            try:
                async with connect(f"ws://127.0.0.1:{self.ports[index % len(self.ports)]}/ws/quotes/",
                                   open_timeout=10, ping_interval=None) as ws:
                    await ws.send(json.dumps({"action": "subscribe", "symbols": list(SYMBOLS[:5])}))
                    while not self.stop.is_set():
                        try:
                            text = await asyncio.wait_for(ws.recv(), 2)
                        except TimeoutError:
                            continue
                        if text.startswith('{"type":"quotes"'):
                            self.r.quotes_received += 1
            except Exception:  # noqa: BLE001 - reconnect, like the ticker does
                self.r.quote_reconnects += 1
                await asyncio.sleep(0.5)

    # -- chaos, and a supervisor (as compose's restart policy): what exits by itself is started again
    async def supervise(self) -> None:
        while not self.stop.is_set():
            for role, proc in list(self.stack.procs.items()):
                if role in self.busy or proc.alive():
                    continue
                self.busy.add(role)
                event = {"t": time.monotonic(), "role": role, "port": self.stack.port_of(role),
                         "what": f"{role} exited by itself ({proc.returncode}): {self.stack.why_exited(role)}"}
                self.r.events.append(event)
                say(event["what"])
                await self.restart(role, event)
                self.busy.discard(role)
            await self._sleep(1)

    async def restart(self, role: str, event: dict) -> None:
        began = time.monotonic()
        try:
            await asyncio.to_thread(self.stack.start, role)
            self.stack.restarts[role] += 1
            event["restart_s"] = time.monotonic() - began
            say(f"{role} restarted in {event['restart_s']:.1f} s")
        except Exception as exc:  # noqa: BLE001 - reported; the supervisor tries again
            event["restart_failed"] = str(exc)[-500:]
            say(f"{role} did not restart: {exc}")

    async def chaos(self, began: float) -> None:
        total = self.args.minutes * 60
        every = self.args.kill_every
        first = self.args.betting_seconds + 15  # races are running by then
        kills = [first + every * n for n in range(int(total // every) + 1) if first + every * n <= total - 20]
        redis_at = first + every * (len(kills) // 2 - 0.5) if len(kills) > 1 else total / 2
        plan = sorted([(t, KILLED[n % len(KILLED)]) for n, t in enumerate(kills)] + [(redis_at, "redis")])
        for at, what in plan:
            await self._sleep(max(0.0, began + at - time.monotonic()))
            if self.stop.is_set():
                return
            t = time.monotonic()
            if what == "redis":
                down = await asyncio.to_thread(self.stack.redis_restart)
                self.r.events.append({"t": t, "what": "Redis restarted", "role": "redis", "down_s": down})
                say(f"Redis restarted ({down:.1f} s down)")
                continue
            while what in self.busy:  # the supervisor is restarting it: kill the new one
                await asyncio.sleep(0.5)
            self.busy.add(what)
            await asyncio.to_thread(self.stack.kill, what)
            event = {"t": t, "what": f"{what} killed", "role": what, "port": self.stack.port_of(what)}
            self.r.events.append(event)
            say(f"{what} killed (SIGKILL)")
            await self._sleep(self.args.restart_after)
            await self.restart(what, event)
            self.busy.discard(what)


# --------------------------------------------------------------------------- main


async def run_load(args, stack: Stack, players, results: Results) -> tuple[dict, dict, float]:
    load = Load(args, stack, players, results)
    results.viewers = [[] for _ in range(args.viewers)]
    began = time.monotonic()
    tasks = [asyncio.ensure_future(coro) for coro in (
        load.race_maker(), load.bettor(), load.reader(), load.chaos(began), load.supervise(),
        *(load.viewer(i) for i in range(args.viewers)), *(load.quote_client(i) for i in range(args.quote_clients)))]
    await load._sleep(10)
    mem_start = await asyncio.to_thread(memory, stack)
    say(f"load running; memory at the start (MB): { {k: round(v or 0) for k, v in mem_start.items()} }")
    while time.monotonic() - began < args.minutes * 60:
        await load._sleep(30)
        elapsed = time.monotonic() - began
        say(f"{elapsed:.0f} s: bets {results.bet_status}, reads {sum(results.read_status.values())}, "
            f"frames {sum(len(f) for f in results.viewers)}")
    mem_end = await asyncio.to_thread(memory, stack)
    load.stop.set()
    await asyncio.wait(tasks, timeout=20)
    for task in tasks:
        task.cancel()
    await asyncio.sleep(2)  # answers in flight
    return mem_start, mem_end, began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--viewers", type=int, default=100)
    parser.add_argument("--players", type=int, default=60)
    parser.add_argument("--bet-rate", type=float, default=4.0, help="bets a second")
    parser.add_argument("--read-rate", type=float, default=6.0, help="API reads a second")
    parser.add_argument("--quote-clients", type=int, default=10)
    parser.add_argument("--race-every", type=float, default=30.0)
    parser.add_argument("--betting-seconds", type=float, default=30.0)
    parser.add_argument("--race-seconds", type=float, default=90.0)
    parser.add_argument("--kill-every", type=float, default=None,
                        help="seconds between kills (default: a twentieth of the run, 30 to 60 s)")
    parser.add_argument("--restart-after", type=float, default=2.0)
    parser.add_argument("--settle-timeout", type=float, default=90.0)
    parser.add_argument("--write-doc", action="store_true", help=f"put the results in {DOC.relative_to(BASE_DIR)}")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, data)")
    args = parser.parse_args()
    if args.kill_every is None:
        args.kill_every = min(60.0, max(30.0, args.minutes * 60 / 20))

    probe = cpu_probe()
    say(f"CPU probe: {probe:.2f} s")
    stack = Stack(args)
    results = Results()
    code = 1
    try:
        stack.start_servers()
        django_setup()
        say("migrating and seeding...")
        players = seed(args.players)
        say("starting the processes...")
        for role in ("web-1", "web-2", "exchange", "marketdata", "worker", "beat", "engine"):
            stack.start(role)
            say(f"  {role} up (pid {stack.procs[role].pid})")
        mem_start, mem_end, began = asyncio.run(run_load(args, stack, players, results))
        say("load stopped; waiting for ended races to settle...")
        wait_for_settlement(results, args.settle_timeout)
        checks = final_checks(results)
        raw = {"events": [{**e, "t": e["t"] - began} for e in results.events],
               "races": {i: vars(r) for i, r in results.races.items()},
               "viewers": [[(round(t - began, 3), port, race) for t, port, race in frames]
                           for frames in results.viewers], "checks": checks}
        (stack.dir / "results.json").write_text(json.dumps(raw, default=str))
        text = report(args, results, checks, mem_start, mem_end, stack, probe, began)
        print("\n" + text + "\n", flush=True)
        if args.write_doc:
            write_doc(text)
            say(f"results written to {DOC}")
        code = 0 if not (checks["lost"] or checks["doubled"] or checks["mispaid"] or checks["unbalanced"]
                         or checks["unsettled"]) else 1
    finally:
        say(f"stopping the stack (logs in {stack.logs})")
        stack.stop_all()
        stack.stop_servers()
        if not args.keep and code == 0:
            shutil.rmtree(stack.dir, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
