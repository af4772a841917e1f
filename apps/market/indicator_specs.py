"""Indicator requests as the candles API takes them (``sma:20,rsi:14,macd,bbands``), and their
values aligned per candle.

Each item is ``name[:param[:param...]]``; missing parameters take the usual defaults. The result
of a spec is keyed by its canonical form with every parameter (``macd:12:26:9``,
``bbands:20:2``). ``warmup`` is how many candles before the requested range are read so that the
first requested candle already has a settled value.
"""
from __future__ import annotations

from dataclasses import dataclass

from apps.market import indicators

MAX_SPECS = 8
MAX_PERIOD = 500
MAX_WARMUP = 3000
# name -> (parameter names, defaults, parameter types)
SPECS = {
    "sma": (("period",), (20,), (int,)),
    "ema": (("period",), (20,), (int,)),
    "rsi": (("period",), (14,), (int,)),
    "macd": (("fast", "slow", "signal"), (12, 26, 9), (int, int, int)),
    "bbands": (("period", "k"), (20, 2.0), (int, float)),
}


class SpecError(ValueError):
    """An indicator request we cannot serve; the message says why."""


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    name: str
    params: tuple

    @property
    def key(self) -> str:
        return ":".join([self.name, *(_fmt(p) for p in self.params)])

    @property
    def warmup(self) -> int:
        p = self.params
        if self.name in ("sma", "bbands"):
            return p[0] - 1
        if self.name == "ema":
            return p[0] - 1 + 5 * p[0]  # the SMA seed's weight is below 1e-4 by then
        if self.name == "rsi":
            return p[0] + 10 * p[0]  # Wilder's smoothing forgets more slowly
        fast, slow, signal = p
        return max(fast, slow) - 1 + signal - 1 + 5 * max(fast, slow)

    def compute(self, closes: list[float]):
        """Values per close: a number (or None) for one-line indicators, a dict for MACD and bands."""
        p = self.params
        if self.name == "sma":
            return indicators.sma(closes, p[0])
        if self.name == "ema":
            return indicators.ema(closes, p[0])
        if self.name == "rsi":
            return indicators.rsi(closes, p[0])
        if self.name == "macd":
            line, signal, hist = indicators.macd(closes, *p)
            return [None if m is None else {"macd": m, "signal": s, "hist": h} for m, s, h in zip(line, signal, hist)]
        upper, middle, lower = indicators.bbands(closes, p[0], p[1])
        return [None if m is None else {"upper": u, "middle": m, "lower": lo} for u, m, lo in zip(upper, middle, lower)]


def _fmt(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def parse_specs(text: str) -> list[IndicatorSpec]:
    items = [item.strip().lower() for item in text.split(",") if item.strip()]
    if len(items) > MAX_SPECS:
        raise SpecError(f"at most {MAX_SPECS} indicators per request")
    specs: list[IndicatorSpec] = []
    for item in items:
        name, *raw = item.split(":")
        if name not in SPECS:
            raise SpecError(f"unknown indicator {name!r} (use {', '.join(SPECS)})")
        names, defaults, types = SPECS[name]
        if len(raw) > len(names):
            raise SpecError(f"{name} takes at most {len(names)} parameter(s): {':'.join(names)}")
        params = []
        for i, (pname, default, kind) in enumerate(zip(names, defaults, types)):
            if i >= len(raw) or raw[i] == "":
                params.append(default)
                continue
            try:
                value = kind(raw[i])
            except ValueError:
                raise SpecError(f"{name}: {pname} must be {'an integer' if kind is int else 'a number'}, "
                                f"not {raw[i]!r}") from None
            if kind is int and not 1 <= value <= MAX_PERIOD:
                raise SpecError(f"{name}: {pname} must be between 1 and {MAX_PERIOD}")
            if kind is float and not 0 < value <= 10:
                raise SpecError(f"{name}: {pname} must be above 0 and at most 10")
            params.append(value)
        if name == "macd" and params[0] >= params[1]:
            raise SpecError("macd: the fast period must be shorter than the slow one")
        if name == "macd" and params[1] < 2:
            raise SpecError("macd: the slow period must be at least 2")
        spec = IndicatorSpec(name, tuple(params))
        if spec not in specs:
            specs.append(spec)
    return specs


def warmup_for(specs: list[IndicatorSpec]) -> int:
    return min(max((s.warmup for s in specs), default=0), MAX_WARMUP)
