"""Fixtures of the bet tests: an open race and a player with 1,000 points (tests/support)."""
from __future__ import annotations

import pytest

from tests.bets.factories import BetsRaceFactory
from tests.support.factories import UserFactory


@pytest.fixture
def race(db):
    return BetsRaceFactory()


@pytest.fixture
def bettor(db):
    return UserFactory(username="bettor")


@pytest.fixture
def bettor_client(api_client, bettor):
    api_client.force_authenticate(bettor)
    return api_client
