"""Trade-lock detection on the quote stream (brief 02's cheapest fairness fix, see docs/TRADING.md).

The market-data worker shows every batch of quotes to a ``LockDetector``; it says which symbols
to lock: a price that moved more than TRADE_LOCK_JUMP_PCT % within TRADE_LOCK_WINDOW_SECONDS
(the moment a feed's lag is worth money to whoever saw the news first), or a symbol whose feed
had been silent past MARKET_DATA_STALE_SECONDS and is back (we cannot know what we missed).
Data gaps the worker records are locked by the trading executor (triggers.py).
"""
from __future__ import annotations

from collections import deque

from apps.trading.market import LockReason


class _Window:
    """Prices of one symbol over the last ``seconds``, with their running minimum and maximum
    (monotonic deques: O(1) per quote)."""

    __slots__ = ("lows", "highs")

    def __init__(self):
        self.lows: deque = deque()
        self.highs: deque = deque()

    def add(self, t: float, price: float, horizon: float) -> tuple[float, float]:
        lows, highs = self.lows, self.highs
        while lows and lows[-1][1] >= price:
            lows.pop()
        lows.append((t, price))
        while highs and highs[-1][1] <= price:
            highs.pop()
        highs.append((t, price))
        while lows[0][0] < horizon:
            lows.popleft()
        while highs[0][0] < horizon:
            highs.popleft()
        return lows[0][1], highs[0][1]

    def reset(self, t: float, price: float) -> None:
        self.lows = deque([(t, price)])
        self.highs = deque([(t, price)])


class LockDetector:
    def __init__(self, *, jump_pct: float, window_seconds: float, stale_seconds: float):
        self.jump = jump_pct / 100
        self.window_seconds = window_seconds
        self.stale_seconds = stale_seconds
        self.windows: dict[str, _Window] = {}
        self.last_recv: dict[str, float] = {}

    def observe(self, quotes) -> list[tuple[str, str]]:
        """(symbol, reason) for each symbol of this batch that must be locked."""
        out = []
        windows, last_recv, jump = self.windows, self.last_recv, self.jump
        for q in quotes:
            symbol, t, price = q.symbol, q.recv, q.price
            if price <= 0:
                continue
            previous = last_recv.get(symbol)
            last_recv[symbol] = t
            window = windows.get(symbol)
            if window is None:
                window = windows[symbol] = _Window()
            if previous is not None and t - previous > self.stale_seconds:
                out.append((symbol, LockReason.STALE))
                window.reset(t, price)
                continue
            low, high = window.add(t, price, t - self.window_seconds)
            if high > low * (1 + jump):
                out.append((symbol, LockReason.JUMP))
                window.reset(t, price)  # the lock covers this move; the next one is measured from here
        return out
