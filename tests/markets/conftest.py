"""Fixtures of the market tests: markets of each mechanism made by ``market_create``, players
funded through the ledger (tests/support), staff."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from apps.core.redis import redis_now
from apps.markets.services import market_create
from tests.support.factories import UserFactory


def make_market(*, mechanism: str = "cpmm", kind: str | None = None, closes_in: timedelta = timedelta(hours=2),
                fee_pct: str | None = "0", **fields):
    """A market closing in ``closes_in``; ``fee_pct`` (a string) replaces MARKET_FEE_PCT for it."""
    from django.test import override_settings

    kind = kind or ("multi" if mechanism == "lmsr" and "outcomes" in fields else "binary")
    defaults = {"cpmm": {"liquidity": 100, "initial_probability": Decimal("0.5")},
                "lmsr": {"b": 10, "outcomes": ["AAA", "BBB", "CCC"]},
                "sigmoid": {"curve": {"p_min": "0.05", "p_max": "0.95", "k": "8", "x0": "0.5", "max_shares": "1000"}}}
    values = {**defaults[mechanism], **fields}
    if mechanism == "lmsr" and kind == "binary":
        values.pop("outcomes", None)
    with override_settings(**({"MARKET_FEE_PCT": float(fee_pct)} if fee_pct is not None else {})):
        return market_create(question=f"Test {mechanism} market?", kind=kind, mechanism=mechanism,
                             closes_at=redis_now() + closes_in, **values)


@pytest.fixture
def cpmm_market(db):
    return make_market()


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", balance=1000)


@pytest.fixture
def bob(db):
    return UserFactory(username="bob", balance=1000)


@pytest.fixture
def staff(db):
    return UserFactory(username="staffer", is_staff=True, balance=0)
