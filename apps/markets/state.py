"""A market row's columns as its market maker's state, and back; the state as JSON.

The JSON form (Decimal values as strings) is what a market stores as ``initial_state`` and each
trade as ``state_after``, and what the API shows as the mechanism's state.
"""
from __future__ import annotations

from decimal import Decimal

from apps.markets.amm import MECHANISMS, cpmm, lmsr, sigmoid
from apps.markets.amm.numeric import text as _text
from apps.markets.models import Market

M = Market.Mechanism


def curve_of(data: dict) -> sigmoid.Curve:
    return sigmoid.Curve(**{name: Decimal(str(data[name])) for name in ("p_min", "p_max", "k", "x0", "max_shares")})


def state_of(market: Market):
    """The mechanism's state held in the market's columns."""
    if market.mechanism == M.CPMM:
        return cpmm.CpmmState(yes=market.pool_yes, no=market.pool_no, p=market.p, floor=market.pool_floor)
    if market.mechanism == M.LMSR:
        return lmsr.LmsrState(q=tuple(market.q), b=market.b)
    return sigmoid.SigmoidState(supply=market.supply, curve=curve_of(market.curve))


def columns_of(mechanism: str, state) -> dict:
    """The market columns that hold ``state`` (for an UPDATE or a new row)."""
    if mechanism == M.CPMM:
        return {"pool_yes": state.yes, "pool_no": state.no, "p": state.p, "pool_floor": state.floor}
    if mechanism == M.LMSR:
        return {"q": list(state.q), "b": state.b}
    return {"supply": state.supply, "curve": state.curve.as_dict()}


def set_state(market: Market, state) -> None:
    for name, value in columns_of(market.mechanism, state).items():
        setattr(market, name, value)


def to_json(mechanism: str, state) -> dict:
    if mechanism == M.CPMM:
        return {"pool": {"YES": _text(state.yes), "NO": _text(state.no)}, "p": _text(state.p),
                "floor": _text(state.floor)}
    if mechanism == M.LMSR:
        return {"q": [_text(x) for x in state.q], "b": _text(state.b)}
    return {"supply": _text(state.supply), "curve": state.curve.as_dict()}


def from_json(mechanism: str, data: dict):
    if mechanism == M.CPMM:
        return cpmm.CpmmState(yes=Decimal(data["pool"]["YES"]), no=Decimal(data["pool"]["NO"]), p=Decimal(data["p"]),
                              floor=Decimal(data["floor"]))
    if mechanism == M.LMSR:
        return lmsr.LmsrState(q=tuple(Decimal(x) for x in data["q"]), b=Decimal(data["b"]))
    return sigmoid.SigmoidState(supply=Decimal(data["supply"]), curve=curve_of(data["curve"]))


def module_of(mechanism: str):
    return MECHANISMS[mechanism]


def probabilities(market: Market) -> tuple[Decimal, ...]:
    return module_of(market.mechanism).probabilities(state_of(market))
