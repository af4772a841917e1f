"""Alpaca's wire format, as the simulator writes it: stream messages, REST trades and bars."""
from __future__ import annotations

import math

from apps.feed.exchange_sim.model import Event
from apps.providers.timefmt import format_rfc3339

EXCHANGE_CODE = "V"  # IEX's code in Alpaca's exchange table
TIMEFRAME_SECONDS = {"1Min": 60, "5Min": 300, "15Min": 900, "30Min": 1800, "1Hour": 3600}


def stream_messages(events: list[Event], symbols: list[str], trades: set[int] | None,
                    quotes: set[int] | None) -> list[dict]:
    """Trade and quote messages for the events a client subscribed to (None: all)."""
    out = []
    for ts, i, price, size, bid, ask in events:
        stamp = None
        if trades is None or i in trades:
            stamp = format_rfc3339(ts)
            out.append({"T": "t", "S": symbols[i], "i": int(ts * 1000) % 10**9 * 100 + i % 100,
                        "x": EXCHANGE_CODE, "p": price, "s": size, "t": stamp, "c": ["@"], "z": "C"})
        if quotes is None or i in quotes:
            out.append({"T": "q", "S": symbols[i], "bx": EXCHANGE_CODE, "bp": bid, "bs": 1 + size % 7,
                        "ax": EXCHANGE_CODE, "ap": ask, "as": 1 + (size // 7) % 7,
                        "t": stamp or format_rfc3339(ts), "c": ["R"], "z": "C"})
    return out


def rest_trade(event: Event) -> dict:
    ts, i, price, size, _bid, _ask = event
    return {"t": format_rfc3339(ts), "x": EXCHANGE_CODE, "p": price, "s": size, "c": ["@"],
            "i": int(ts * 1000) % 10**9 * 100 + i % 100, "z": "C"}


def rest_bars(events: list[Event], seconds: int) -> dict[int, list[dict]]:
    """Events (oldest first) folded into OHLCV bars per listing index, labelled by start."""
    bars: dict[int, dict[int, dict]] = {}
    for ts, i, price, size, _bid, _ask in events:
        start = math.floor(ts / seconds) * seconds
        per = bars.setdefault(i, {})
        bar = per.get(start)
        if bar is None:
            per[start] = {"t": start, "o": price, "h": price, "l": price, "c": price, "v": size, "n": 1,
                          "_pv": price * size}
        else:
            bar["h"] = max(bar["h"], price)
            bar["l"] = min(bar["l"], price)
            bar["c"] = price
            bar["v"] += size
            bar["n"] += 1
            bar["_pv"] += price * size
    out = {}
    for i, per in bars.items():
        rows = []
        for start in sorted(per):
            bar = per[start]
            pv = bar.pop("_pv")
            bar["vw"] = round(pv / bar["v"], 4) if bar["v"] else bar["c"]
            bar["t"] = format_rfc3339(start).replace(".000000Z", "Z")
            rows.append(bar)
        out[i] = rows
    return out
