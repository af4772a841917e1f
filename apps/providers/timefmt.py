"""RFC 3339 timestamps as providers write them, parsed fast on the hot path.

Alpaca stamps every trade with nanoseconds (``2021-02-22T15:51:44.208123456Z``), which
``datetime.fromisoformat`` rejects; parsing the whole-second prefix once per second through
a small cache and adding the fraction as a float is both correct and about ten times faster.
"""
from __future__ import annotations

from datetime import datetime, timezone

_SECOND_CACHE: dict[str, int] = {}
_CACHE_LIMIT = 50_000


def _whole_seconds(prefix: str) -> int:
    epoch = _SECOND_CACHE.get(prefix)
    if epoch is None:
        epoch = int(datetime.strptime(prefix, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp())
        if len(_SECOND_CACHE) >= _CACHE_LIMIT:
            _SECOND_CACHE.clear()  # history replays walk through time; keep the cache bounded
        _SECOND_CACHE[prefix] = epoch
    return epoch


def parse_rfc3339(text: str) -> float:
    """Epoch seconds (UTC) of an RFC 3339 time with a ``Z`` or numeric offset. Raises ValueError."""
    if not isinstance(text, str) or len(text) < 20 or text[10] not in "Tt ":
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    base = _whole_seconds(text[:19])
    rest = text[19:]
    if rest.endswith(("Z", "z")):
        offset = 0
        frac = rest[:-1]
    else:
        sign_at = max(rest.rfind("+"), rest.rfind("-"))
        if sign_at < 0 or len(rest) - sign_at != 6 or rest[sign_at + 3] != ":":
            raise ValueError(f"not an RFC 3339 time: {text!r}")
        sign = 1 if rest[sign_at] == "+" else -1
        offset = sign * (int(rest[sign_at + 1:sign_at + 3]) * 3600 + int(rest[sign_at + 4:sign_at + 6]) * 60)
        frac = rest[:sign_at]
    if frac:
        if frac[0] != "." or not frac[1:].isdigit():
            raise ValueError(f"not an RFC 3339 time: {text!r}")
        return base + float(frac) - offset
    return float(base - offset)


def format_rfc3339(ts: float) -> str:
    """Epoch seconds as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (microseconds, UTC)."""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
