"""One race frame: each stock's price, % change from its locked open price, and the order.

Pure functions, no I/O: the engine feeds them quotes and writes the result. A frame is
serialised once, as two byte strings around its sequence number (``prefix + seq + suffix``):
the sequence number is taken inside Redis, atomically with the publish (see engine.py), so
the bytes every viewer receives are exactly those stored as the race's last frame.
"""
from __future__ import annotations

from dataclasses import dataclass

import orjson


@dataclass(frozen=True, slots=True)
class Lane:
    lane: int
    symbol: str
    open_price: float | None  # locked at the start; None only if the lifecycle has not locked it yet


@dataclass(frozen=True, slots=True)
class LiveQuote:
    price: float
    recv: float  # when our market-data worker received it (epoch seconds, Redis clock)


def change_pct(price: float, open_price: float | None) -> float | None:
    if open_price is None or open_price <= 0:
        return None
    return round((price - open_price) / open_price * 100.0, 4)


def stock_rows(lanes: list[Lane], quotes: dict[str, LiveQuote], now: float, stale_after: float) -> list[dict]:
    """Rows in lane order with a 1-based ``position``: best % change first, ties by lane; a stock
    without a price (or without an open price) is placed behind every priced one."""
    rows = []
    for lane in lanes:
        quote = quotes.get(lane.symbol)
        price = quote.price if quote is not None else None
        pct = change_pct(price, lane.open_price) if price is not None else None
        stale = quote is None or now - quote.recv > stale_after
        rows.append({"symbol": lane.symbol, "lane": lane.lane, "price": price, "change_pct": pct,
                     "position": 0, "stale": stale})
    ranked = sorted(rows, key=lambda r: (r["change_pct"] is None, -(r["change_pct"] or 0.0), r["lane"]))
    for position, row in enumerate(ranked, start=1):
        row["position"] = position
    return rows


def frame_parts(*, race_id: int, ts: float, ends_at: float, rows: list[dict]) -> tuple[bytes, bytes]:
    """The frame's JSON split around its sequence number: ``prefix + str(seq) + suffix``.

    Shape: {"type":"frame","race":R,"seq":N,"ts":T,"left":S,"stale":B,"stocks":[...]}.
    """
    prefix = b'{"type":"frame","race":%d,"seq":' % race_id
    body = orjson.dumps({"ts": round(ts, 3), "left": max(0.0, round(ends_at - ts, 3)),
                         "stale": any(r["stale"] for r in rows), "stocks": rows})
    return prefix, b"," + body[1:]
