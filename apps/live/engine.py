"""The race engine: one frame per running race per second, aligned to Redis time.

Each cycle: list the running races (race_source), read TIME and the latest quote of every
symbol in one pipelined round trip, compute the frames (frames.py), and publish them with one
Lua script that, atomically and only while this engine holds the lease, for each race takes
the next sequence number (INCR, so it continues across engine restarts), stores the frame as
the race's last frame (for snapshots) and PUBLISHes it on ``live:race:{id}``. The script also
refuses a second publish for the same Redis second, so two engines never double-frame.

Redis away (a restart): the active loop gives up the cycle at the first connection error and
the engine stands by, trying the lease again every poll; once Redis answers it takes the lease
(or finds its own token restored with Redis's data, lease.py) and frames the current second at
once — frames resume within the lease's TTL plus a poll of Redis coming back.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import redis
from django.conf import settings

from apps.core import live_keys as keys
from apps.live.frames import LiveQuote, frame_parts, stock_rows
from apps.live.lease import Lease
from apps.live.race_source import RunningRace, RunningRaces
from apps.market.quotes import QUOTE_KEY

log = logging.getLogger("stockrace.race-engine")

LAST_FRAME_TTL_SECONDS = 24 * 3600

_PUBLISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
if last >= tonumber(ARGV[2]) then return -2 end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local n = (#KEYS - 2) / 2
for i = 1, n do
  local seq = redis.call('INCR', KEYS[1 + 2 * i])
  local frame = ARGV[3 + 3 * i] .. seq .. ARGV[4 + 3 * i]
  redis.call('SET', KEYS[2 + 2 * i], frame, 'EX', ARGV[3])
  redis.call('PUBLISH', ARGV[2 + 3 * i], frame)
end
return n
"""


@dataclass(slots=True)
class CycleResult:
    tick: int
    races: int
    published: int  # races framed; -1 lease lost, -2 this second was already framed
    read_ms: float
    total_ms: float


class RaceEngine:
    def __init__(self, client: redis.Redis, *, lease_ms: int, source: RunningRaces | None = None):
        self.client = client
        self.lease = Lease(client, keys.ENGINE_LEASE, lease_ms)
        self.source = source or RunningRaces()
        self._publish = client.register_script(_PUBLISH)
        self.offset = 0.0  # Redis time minus time.monotonic(), refreshed on every TIME read
        self.stale_after = settings.MARKET_DATA_STALE_SECONDS

    # -- clock
    def redis_time(self) -> float:
        t0 = time.monotonic()
        seconds, micros = self.client.time()
        t1 = time.monotonic()
        now = seconds + micros / 1e6
        self.offset = now - (t0 + t1) / 2
        return now

    def now(self) -> float:
        """Redis time estimated from the local monotonic clock (re-synchronised every cycle)."""
        return time.monotonic() + self.offset

    # -- one cycle
    def read(self, races: list[RunningRace]) -> tuple[float, dict[str, LiveQuote]]:
        symbols = sorted({lane.symbol for race in races for lane in race.lanes})
        pipe = self.client.pipeline(transaction=False)
        pipe.time()
        for symbol in symbols:
            pipe.hmget(QUOTE_KEY.format(symbol), "price", "recv")
        t0 = time.monotonic()
        result = pipe.execute()
        t1 = time.monotonic()
        seconds, micros = result[0]
        now = seconds + micros / 1e6
        self.offset = now - (t0 + t1) / 2
        quotes = {}
        for symbol, (price, recv) in zip(symbols, result[1:]):
            if price not in (None, ""):
                quotes[symbol] = LiveQuote(price=float(price), recv=float(recv or 0.0))
        return now, quotes

    def cycle(self, tick: int) -> CycleResult:
        started = time.perf_counter()
        races = self.source.load()
        now, quotes = self.read(races)
        read_ms = (time.perf_counter() - started) * 1000
        frame_keys = [keys.ENGINE_LEASE, keys.ENGINE_TICK]
        args: list = [self.lease.token, tick, LAST_FRAME_TTL_SECONDS, self.lease.ttl_ms]
        for race in races:
            rows = stock_rows(list(race.lanes), quotes, now, self.stale_after)
            prefix, suffix = frame_parts(race_id=race.race_id, ts=now, ends_at=race.ends_at, rows=rows)
            frame_keys += [keys.RACE_SEQ.format(race.race_id), keys.RACE_LAST_FRAME.format(race.race_id)]
            args += [keys.race_channel(race.race_id), prefix, suffix]
        published = self._publish(keys=frame_keys, args=args)
        total_ms = (time.perf_counter() - started) * 1000
        return CycleResult(tick=tick, races=len(races), published=int(published), read_ms=read_ms,
                           total_ms=total_ms)

    def record(self, result: CycleResult, late_ms: float, max_ms: float) -> None:
        self.client.hset(keys.ENGINE_STATS, mapping={
            "holder": self.lease.token, "tick": result.tick, "races": result.races,
            "cycle_ms": round(result.total_ms, 2), "read_ms": round(result.read_ms, 2),
            "late_ms": round(late_ms, 2), "max_cycle_ms_60s": round(max_ms, 2), "updated": self.now()})
        self.client.expire(keys.ENGINE_STATS, 60)

    # -- the loops
    def run(self, stopping, *, poll_seconds: float = 0.2, before_cycle=None) -> None:
        """Standby until the lease is free, then active until it is lost; until ``stopping``."""
        failures = 0  # consecutive attempts that found Redis away
        while not stopping.is_set():
            try:
                acquired = self.lease.acquire()
                if failures:
                    log.warning("race engine: Redis back after %d failed attempts", failures)
                    failures = 0
                if acquired:
                    log.info("race engine active (lease %s)", self.lease.token)
                    self.run_active(stopping, before_cycle)
                    log.info("race engine standing by")
                elif stopping.wait(poll_seconds):
                    break
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                if failures == 0:
                    log.warning("race engine: Redis unavailable (%s); trying again every %.1f s", exc, poll_seconds)
                failures += 1
                stopping.wait(poll_seconds)
        try:
            self.lease.release()
        except redis.RedisError:
            pass

    def run_active(self, stopping, before_cycle=None) -> None:
        renew_every = self.lease.ttl_ms / 1000 / 4
        recent: list[float] = []
        tick = math.floor(self.redis_time())  # frame the current second at once after a takeover
        while not stopping.is_set():
            late_ms = max(0.0, (self.now() - tick) * 1000)
            try:
                if before_cycle is not None:
                    before_cycle()
                result = self.cycle(tick)
            except (redis.ConnectionError, redis.TimeoutError):
                raise  # Redis away: run() stands by and takes the lease again when it answers
            except Exception:  # noqa: BLE001 - a bad cycle (DB hiccup) must not kill the engine
                log.exception("race engine: cycle %s failed", tick)
                result = None
            if result is not None:
                if result.published == -1:
                    log.warning("race engine: lease lost to %s", self.lease.holder())
                    return
                recent = (recent + [result.total_ms])[-60:]
                if result.published >= 0:
                    self.record(result, late_ms, max(recent))
                if result.total_ms > 500:
                    log.warning("race engine: slow cycle %.0f ms for %d races", result.total_ms, result.races)
            # Sleep to the next whole Redis second, renewing the lease on the way.
            tick = max(tick + 1, math.floor(self.now()) + 1)
            while not stopping.is_set():
                remaining = tick - self.now()
                if remaining <= 0:
                    break
                if stopping.wait(min(remaining, renew_every)):
                    return
                if tick - self.now() > 0.001 and not self.lease.renew():
                    log.warning("race engine: lease lost to %s", self.lease.holder())
                    return
