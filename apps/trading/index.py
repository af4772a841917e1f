"""The per-symbol Redis index of resting orders by trigger price, and the one script that checks
it for a batch of quotes.

PostgreSQL is the truth; this index only says which orders may be worth a look. Every member it
returns is claimed with a conditional UPDATE before anything fills, so a stale or duplicated
member costs a query, never a second fill; ``index_rebuild`` (at the market-data worker's start)
and ``index_sync`` (every 30 s there) put it back in line with the database.

Keys, for each symbol (scores are prices):

- ``trd:ix:{SYM}:bl`` buy limits (fill when ask <= score), ``:sl`` sell limits (bid >= score);
- ``:bs`` buy stops (trigger when last >= score), ``:ss`` sell stops (last <= score), members
  ``m{id}`` for stop orders and ``l{id}`` for stop-limits;
- ``:tm`` the set of triggered stops waiting for the next quote to fill as market orders;
- ``:bi`` open shorts by the last price at which they fall below maintenance (member: position id).
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import redis as redis_lib

from apps.trading.market import LOCK_KEY
from apps.trading.models import Order, Position

PREFIX = "trd:ix:"
LOCK_PREFIX = LOCK_KEY.format("")
DIRTY_KEY = "trd:ix:dirty"  # symbols orders were added to since the last batch check
BUY_LIMITS, SELL_LIMITS, BUY_STOPS, SELL_STOPS, TRIGGERED, BUY_INS = "bl", "sl", "bs", "ss", "tm", "bi"
SORTED = (BUY_LIMITS, SELL_LIMITS, BUY_STOPS, SELL_STOPS, BUY_INS)
# Members one symbol may return per batch and kind: a flood of triggers is worked off over the
# next batches instead of stalling this one.
PER_BATCH = 500
S, T = Order.Status, Order.Type
BUY_SIDES = (Order.Side.BUY, Order.Side.BUY_TO_COVER)


def key(symbol: str, kind: str) -> str:
    return f"{PREFIX}{symbol}:{kind}"


@dataclass(frozen=True, slots=True)
class Entry:
    """Where one resting order sits in the index: a key, a member and its score (None: the set)."""

    kind: str
    member: str
    score: float | None


def entry_of(*, order_id: int, side: str, order_type: str, status: str, limit: Decimal | None,
             stop: Decimal | None) -> Entry | None:
    is_buy = side in BUY_SIDES
    if status == S.OPEN and order_type in (T.STOP, T.STOP_LIMIT):
        member = ("m" if order_type == T.STOP else "l") + str(order_id)
        return Entry(BUY_STOPS if is_buy else SELL_STOPS, member, float(stop))
    if order_type == T.LIMIT and status == S.OPEN or order_type == T.STOP_LIMIT and status == S.TRIGGERED:
        return Entry(BUY_LIMITS if is_buy else SELL_LIMITS, str(order_id), float(limit))
    if order_type == T.STOP and status == S.TRIGGERED:
        return Entry(TRIGGERED, str(order_id), None)
    return None


def _add(pipe, symbol: str, entry: Entry) -> None:
    if entry.score is None:
        pipe.sadd(key(symbol, entry.kind), entry.member)
    else:
        pipe.zadd(key(symbol, entry.kind), {entry.member: entry.score})
    pipe.sadd(DIRTY_KEY, symbol)  # after the add: the next batch check looks at this symbol again


def order_add(client, *, order_id: int, symbol: str, side: str, order_type: str, status: str,
              limit: Decimal | None, stop: Decimal | None, pipe=None) -> None:
    """Put a resting order where its state says (after the commit that made it so)."""
    entry = entry_of(order_id=order_id, side=side, order_type=order_type, status=status, limit=limit, stop=stop)
    if entry is None:
        return
    own = pipe is None
    pipe = pipe if pipe is not None else client.pipeline(transaction=False)
    _add(pipe, symbol, entry)
    if own:
        pipe.execute()


def order_remove(client, *, order_id: int, symbol: str, pipe=None) -> None:
    """Take an order out of every key of its symbol (filled, cancelled, rejected, expired)."""
    own = pipe is None
    pipe = pipe if pipe is not None else client.pipeline(transaction=False)
    plain = str(order_id)
    pipe.zrem(key(symbol, BUY_LIMITS), plain)
    pipe.zrem(key(symbol, SELL_LIMITS), plain)
    pipe.zrem(key(symbol, BUY_STOPS), "m" + plain, "l" + plain)
    pipe.zrem(key(symbol, SELL_STOPS), "m" + plain, "l" + plain)
    pipe.srem(key(symbol, TRIGGERED), plain)
    if own:
        pipe.execute()


def short_set(client, *, position_id: int, symbol: str, buy_in_price: Decimal | None, pipe=None) -> None:
    """Index a short by its buy-in price, or drop it (None: no longer short)."""
    own = pipe is None
    pipe = pipe if pipe is not None else client.pipeline(transaction=False)
    if buy_in_price is None:
        pipe.zrem(key(symbol, BUY_INS), str(position_id))
    else:
        pipe.zadd(key(symbol, BUY_INS), {str(position_id): float(buy_in_price)})
        pipe.sadd(DIRTY_KEY, symbol)
    if own:
        pipe.execute()


# --------------------------------------------------------------------------- the batch check

# ARGV: per-batch limit, the index key prefix, the lock key prefix, the dirty-set key, then
# (symbol, last, bid, ask, sides) for each symbol of the batch worth examining: the caller's copy
# of its nearest trigger prices says this quote reaches one (or it has no copy yet). ``sides`` has
# one character per side, in SIDES order (buy limits, sell limits, buy stops, sell stops, buy-ins,
# triggered stops): 1 = examine it, 0 = not reached. Every other symbol is not even sent, and an
# examined symbol costs only the sides it reaches: that is what keeps a batch cheap however many
# orders rest (bench/trading_triggers.py). The dirty set names symbols orders were added to since
# the last check: their copies may be out of date, so fresh ones come back ("D"), and the caller
# checks again the symbols of its batch they now reach (Checker.check).
#
# An examined symbol: stops trigger on the last trade even while it is locked (they are taken out
# of the stop sets and returned once); nothing fills while it is locked: triggered stops, crossed
# limits and buy-ins are returned only for unlocked symbols, every batch until dealt with.
# Returns a flat list of (symbol, code, member): code t = a stop triggered, f = fill candidate,
# b = buy-in candidate, B/D = the nearest prices of the examined sides (B) or all sides (D),
# comma-separated in SIDES order: a price, empty (nothing rests there) or ~ (not examined:
# unchanged); the last is the triggered count.
SIDES = (BUY_LIMITS, SELL_LIMITS, BUY_STOPS, SELL_STOPS, BUY_INS, TRIGGERED)
CHECK_LUA = """
local limit = tonumber(ARGV[1])
local prefix, lock_prefix, dirty_key = ARGV[2], ARGV[3], ARGV[4]
local out = {}
local n = 0
local dirty = {}
for _, s in ipairs(redis.call('SPOP', dirty_key, 1000000)) do dirty[s] = true end
local function edge(key, highest)
  local r
  if highest then r = redis.call('ZREVRANGE', key, 0, 0, 'WITHSCORES') else r = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES') end
  if #r == 0 then return '' end
  return r[2]
end
local function put(sym, code, member)
  out[n + 1] = sym; out[n + 2] = code; out[n + 3] = member; n = n + 3
end
-- the nearest prices of the sides marked 1 in mask (~ for the others)
local function bounds(sym, code, mask)
  local p = prefix .. sym .. ':'
  local parts = {'~', '~', '~', '~', '~', '~'}
  local keys = {{'bl', true}, {'sl', false}, {'bs', false}, {'ss', true}, {'bi', false}}
  for k = 1, 5 do
    if string.sub(mask, k, k) == '1' then parts[k] = edge(p .. keys[k][1], keys[k][2]) end
  end
  if string.sub(mask, 6, 6) == '1' then parts[6] = tostring(redis.call('SCARD', p .. 'tm')) end
  put(sym, code, table.concat(parts, ','))
end
for i = 5, #ARGV, 5 do
  local sym, last, bid, ask, mask = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  if dirty[sym] then mask = '111111'; dirty[sym] = nil end
  local p = prefix .. sym .. ':'
  local function side(k) return string.sub(mask, k, k) == '1' end
  if side(3) then
    local up = redis.call('ZRANGEBYSCORE', p .. 'bs', '-inf', last, 'LIMIT', 0, limit)
    if #up > 0 then
      redis.call('ZREM', p .. 'bs', unpack(up))
      for _, m in ipairs(up) do put(sym, 't', m) end
    end
  end
  if side(4) then
    local down = redis.call('ZRANGEBYSCORE', p .. 'ss', last, '+inf', 'LIMIT', 0, limit)
    if #down > 0 then
      redis.call('ZREM', p .. 'ss', unpack(down))
      for _, m in ipairs(down) do put(sym, 't', m) end
    end
  end
  if (side(1) or side(2) or side(5) or side(6)) and redis.call('EXISTS', lock_prefix .. sym) == 0 then
    if side(6) then for _, m in ipairs(redis.call('SRANDMEMBER', p .. 'tm', limit)) do put(sym, 'f', m) end end
    if side(1) then
      for _, m in ipairs(redis.call('ZRANGEBYSCORE', p .. 'bl', ask, '+inf', 'LIMIT', 0, limit)) do put(sym, 'f', m) end
    end
    if side(2) then
      for _, m in ipairs(redis.call('ZRANGEBYSCORE', p .. 'sl', '-inf', bid, 'LIMIT', 0, limit)) do put(sym, 'f', m) end
    end
    if side(5) then
      for _, m in ipairs(redis.call('ZRANGEBYSCORE', p .. 'bi', '-inf', last, 'LIMIT', 0, limit)) do put(sym, 'b', m) end
    end
  end
  bounds(sym, 'B', mask)
end
for sym in pairs(dirty) do bounds(sym, 'D', '111111') end
return out
"""
CHECK_SHA = hashlib.sha1(CHECK_LUA.encode()).hexdigest()
_NONE = float("nan")
_ALL = "111111"


@dataclass
class Candidates:
    triggered: list[tuple[str, int, bool]]  # (symbol, order id, is stop-limit)
    fills: list[tuple[str, int]]  # (symbol, order id)
    buy_ins: list[tuple[str, int]]  # (symbol, position id)

    def __bool__(self) -> bool:
        return bool(self.triggered or self.fills or self.buy_ins)


class Checker:
    """The batch check, with this process's copy of each symbol's nearest trigger prices.

    A copy can only be too loose, never too tight: orders added anywhere mark their symbol dirty
    (the script then sends a fresh copy of every side), and orders removed leave the old, nearer
    price, which at worst gets that side examined once more and its copy refreshed.
    """

    def __init__(self):
        self.bounds: dict[str, list] = {}

    def _sides(self, symbol: str, last: float, bid: float, ask: float) -> str:
        """Which sides this quote reaches ("000000": none), by the copy; all without a copy."""
        b = self.bounds.get(symbol)
        if b is None:
            return _ALL
        # NaN compares false: a side with nothing resting is never reached.
        return "".join(("1" if ask <= b[0] else "0", "1" if bid >= b[1] else "0", "1" if last >= b[2] else "0",
                        "1" if last <= b[3] else "0", "1" if last >= b[4] else "0", "1" if b[5] > 0 else "0"))

    def args(self, quotes, only: set[str] | None = None) -> list:
        """The script's ARGV for a batch (apps.market.quotes.Quote; bid/ask may be None): the
        symbols worth examining with the sides to examine, or every side of those of ``only``."""
        args: list = [PER_BATCH, PREFIX, LOCK_PREFIX, DIRTY_KEY]
        for q in quotes:
            last = q.price
            bid = last if q.bid is None else q.bid
            ask = last if q.ask is None else q.ask
            if only is not None:
                sides = _ALL if q.symbol in only else "000000"
            else:
                sides = self._sides(q.symbol, last, bid, ask)
            if sides != "000000":
                args += (q.symbol, last, bid, ask, sides)
        return args

    def parse(self, flat: list) -> tuple[Candidates, set[str]]:
        """What the script found, and the symbols whose copies came fresh from the dirty set."""
        found = Candidates([], [], [])
        refreshed: set[str] = set()
        for i in range(0, len(flat), 3):
            symbol, code, member = flat[i], flat[i + 1], flat[i + 2]
            if code == "t":
                found.triggered.append((symbol, int(member[1:]), member[0] == "l"))
            elif code == "f":
                found.fills.append((symbol, int(member)))
            elif code == "b":
                found.buy_ins.append((symbol, int(member)))
            else:
                parts = member.split(",")
                copy = self.bounds.get(symbol) or [_NONE] * 5 + [0]
                for k, part in enumerate(parts[:5]):
                    if part != "~":
                        copy[k] = float(part) if part else _NONE
                if parts[5] != "~":
                    copy[5] = int(parts[5])
                self.bounds[symbol] = copy
                if code == "D":
                    refreshed.add(symbol)
        return found, refreshed

    def again(self, quotes, refreshed: set[str]) -> set[str]:
        """Symbols of this batch whose fresh copies say the batch's quote reaches them."""
        out = set()
        for q in quotes:
            if q.symbol in refreshed:
                last = q.price
                if self._sides(q.symbol, last, last if q.bid is None else q.bid,
                               last if q.ask is None else q.ask) != "000000":
                    out.add(q.symbol)
        return out

    def check(self, client, quotes) -> Candidates:
        """What this batch of quotes triggers or may fill: one round trip, two when orders were
        added to a symbol of the batch since the last check and the batch reaches them."""
        found, refreshed = self.parse(run_check(client, self.args(quotes)))
        return self.check_again(client, quotes, found, refreshed)

    def check_again(self, client, quotes, found: Candidates, refreshed: set[str]) -> Candidates:
        if refreshed and (again := self.again(quotes, refreshed)):
            more, _ = self.parse(run_check(client, self.args(quotes, only=again)))
            found.triggered += more.triggered
            found.fills += more.fills
            found.buy_ins += more.buy_ins
        return found


def run_check(client, args: list) -> list:
    try:
        return client.evalsha(CHECK_SHA, 0, *args)
    except redis_lib.exceptions.NoScriptError:
        return client.eval(CHECK_LUA, 0, *args)


def check_batch(client, quotes) -> Candidates:
    """The batch check without a copy of the nearest prices (every symbol examined)."""
    return Checker().check(client, quotes)


# --------------------------------------------------------------------------- back in line with PostgreSQL


def _resting_rows(qs):
    return qs.values_list("id", "symbol", "side", "type", "status", "limit_price", "stop_price")


def _short_rows(qs):
    return qs.values_list("id", "symbol", "quantity", "collateral")


def _write(client, orders, shorts, maintenance_pct: int) -> int:
    from apps.trading.rules import buy_in_price_of

    pipe = client.pipeline(transaction=False)
    count = 0
    for order_id, symbol, side, order_type, status, limit, stop in orders:
        entry = entry_of(order_id=order_id, side=side, order_type=order_type, status=status, limit=limit, stop=stop)
        if entry is not None:
            _add(pipe, symbol, entry)
            count += 1
        if len(pipe) >= 5000:
            pipe.execute()
    for position_id, symbol, quantity, collateral in shorts:
        pipe.zadd(key(symbol, BUY_INS), {str(position_id): float(buy_in_price_of(quantity, collateral, maintenance_pct))})
        pipe.sadd(DIRTY_KEY, symbol)
        count += 1
    pipe.execute()
    return count


def index_rebuild(client, *, maintenance_pct: int) -> dict:
    """Make the index match PostgreSQL: add every resting order and open short, then drop members
    the database says are no longer resting (checked again, so an order placed meanwhile stays)."""
    orders = list(_resting_rows(Order.objects.filter(status__in=Order.RESTING)))
    shorts = list(_short_rows(Position.objects.filter(quantity__lt=0)))
    added = _write(client, orders, shorts, maintenance_pct)
    wanted = defaultdict(set)
    for order_id, symbol, side, order_type, status, limit, stop in orders:
        entry = entry_of(order_id=order_id, side=side, order_type=order_type, status=status, limit=limit, stop=stop)
        if entry is not None:
            wanted[key(symbol, entry.kind)].add(entry.member)
    for position_id, symbol, _, _ in shorts:
        wanted[key(symbol, BUY_INS)].add(str(position_id))
    stray_orders: dict[str, list[str]] = {}
    stray_shorts: dict[str, list[str]] = {}
    for name in client.scan_iter(match=f"{PREFIX}*", count=1000):
        if name == DIRTY_KEY:
            continue
        kind = name.rsplit(":", 1)[1]
        members = client.smembers(name) if kind == TRIGGERED else client.zrange(name, 0, -1)
        extra = [m for m in members if m not in wanted.get(name, ())]
        if extra:
            (stray_shorts if kind == BUY_INS else stray_orders)[name] = extra
    removed = 0
    pipe = client.pipeline(transaction=False)
    ids = {int(m.lstrip("ml")) for members in stray_orders.values() for m in members}
    still = set(Order.objects.filter(pk__in=ids, status__in=Order.RESTING).values_list("pk", flat=True)) if ids else set()
    for name, members in stray_orders.items():
        gone = [m for m in members if int(m.lstrip("ml")) not in still]
        if gone:
            (pipe.srem if name.endswith(":" + TRIGGERED) else pipe.zrem)(name, *gone)
            removed += len(gone)
    pids = {int(m) for members in stray_shorts.values() for m in members}
    short_now = set(Position.objects.filter(pk__in=pids, quantity__lt=0).values_list("pk", flat=True)) if pids else set()
    for name, members in stray_shorts.items():
        gone = [m for m in members if int(m) not in short_now]
        if gone:
            pipe.zrem(name, *gone)
            removed += len(gone)
    pipe.execute()
    return {"added": added, "removed": removed}


def index_sync(client, *, since, maintenance_pct: int) -> int:
    """Orders and positions changed since ``since``: resting ones (re)added, the others removed.
    Heals what an after-commit index write missed (a process that died between the two)."""
    from apps.trading.rules import buy_in_price_of

    changed = Order.objects.filter(updated_at__gte=since).values_list(
        "id", "symbol", "side", "type", "status", "limit_price", "stop_price")
    pipe = client.pipeline(transaction=False)
    count = 0
    for order_id, symbol, side, order_type, status, limit, stop in changed:
        if status in Order.RESTING:
            order_add(client, order_id=order_id, symbol=symbol, side=side, order_type=order_type, status=status,
                      limit=limit, stop=stop, pipe=pipe)
        else:
            order_remove(client, order_id=order_id, symbol=symbol, pipe=pipe)
        count += 1
    for position_id, symbol, quantity, collateral in Position.objects.filter(updated_at__gte=since).values_list(
            "id", "symbol", "quantity", "collateral"):
        price = buy_in_price_of(quantity, collateral, maintenance_pct) if quantity < 0 else None
        short_set(client, position_id=position_id, symbol=symbol, buy_in_price=price, pipe=pipe)
        count += 1
    pipe.execute()
    return count
