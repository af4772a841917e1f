"""The one rank: competition ranking (1, 2, 2, 4) — a player's rank is one more than the number
of players with more points, so players on equal points share a place. Every board page, the
/me/ summary and the rank_changed toast take their rank from here (the race standings' SQL uses
RANK(), the same rule)."""
from __future__ import annotations

from django.db.models import Q, QuerySet

# A player is on the period boards (global, weekly, monthly), and so has a rank there, once they
# have won points: a player on 0 is not "#2" behind the one winner. Race boards rank every bettor.
ON_A_BOARD = Q(points__gt=0)

# Competition ranks of many members of one sorted set in one round trip; nil when the board is
# not in Redis (it is rebuilt from PostgreSQL), 0 for a member not on it.
RANKS_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local out = {}
for i, member in ipairs(ARGV) do
  local score = redis.call('ZSCORE', KEYS[1], member)
  if score then out[i] = redis.call('ZCOUNT', KEYS[1], '(' .. score, '+inf') + 1 else out[i] = 0 end
end
return out
"""
_script = None


def redis_ranks(client, key: str, members) -> list[int | None] | None:
    """The ranks of ``members`` (user ids) on the board at ``key``: None for a player not on it;
    None instead of a list when Redis does not hold the board."""
    global _script
    if _script is None:
        _script = client.register_script(RANKS_LUA)
    ranks = _script(keys=[key], args=[str(m) for m in members], client=client)
    if ranks is None:
        return None
    return [int(r) or None for r in ranks]


def db_rank(entries: QuerySet, points: int, field: str = "points") -> int:
    """The rank of ``points`` among ``entries`` (a board's rows in PostgreSQL)."""
    return entries.filter(**{f"{field}__gt": points}).count() + 1
