"""The three automated market makers, as pure functions of a market's state (no database).

Each module (``cpmm``, ``lmsr``, ``sigmoid``) offers the same five functions on its own frozen
state type, and the trading code calls them through ``MECHANISMS``:

- ``probabilities(state)`` — the price of one share of each outcome;
- ``buy_amount(state, outcome, amount)`` — put ``amount`` in, get (shares, new state);
- ``buy_shares(state, outcome, shares)`` — get ``shares``, (exact cost, new state);
- ``sell_shares(state, outcome, shares)`` — give ``shares`` back, (proceeds, new state);
- ``check(state)`` — raise a ``Refusal`` when a state is past the curve's limits.

Costs are exact to the 18th place, rounded in the house's favour (amm.numeric). A round trip
(buy, then sell back in any number of pieces) never returns more than it cost, because each
curve is a cost function (a sale undoes a purchase along the same curve) and every cut rounds
against the player.
"""
from __future__ import annotations


class Refusal(Exception):
    """A trade the curve cannot take; ``code`` is the API's error code."""

    code = "refused"


class Dry(Refusal):
    """The trade would drain the pool (or supply) past its floor."""

    code = "market_dry"

    def __init__(self, detail: str = ""):
        super().__init__("The market is dry: this trade would drain the pool past its floor"
                         + (f" ({detail})" if detail else "") + ". Trade less.")


class PriceLimit(Refusal):
    """The trade would move a probability outside the market's bounds."""

    code = "price_limit"


from apps.markets.amm import cpmm, lmsr, sigmoid  # noqa: E402  (the modules use Refusal above)

MECHANISMS = {"cpmm": cpmm, "lmsr": lmsr, "sigmoid": sigmoid}
