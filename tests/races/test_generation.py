"""The lobby generator and the house bettors."""
from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from apps.bets.models import Bet
from apps.leaderboards.selectors import board_page
from apps.leaderboards.services import leaderboard_sync_race
from apps.market.services import stock_upsert_demo_universe
from apps.points.models import LedgerEntry
from apps.races import house, lifecycle, settlement
from apps.races.generation import lobby_fill
from apps.races.models import Race
from tests.support import factories as f
from tests.support.ledger import assert_ledger_balanced, balances

pytestmark = pytest.mark.django_db
S = Race.State


@pytest.fixture
def universe(db):
    from apps.market.models import Stock

    stock_upsert_demo_universe()
    f.write_quotes({s: 100.0 for s in Stock.objects.values_list("symbol", flat=True)})  # only quoted stocks race


def test_lobby_is_filled_to_the_target_with_a_mix(universe, settings):
    settings.RACE_LOBBY_TARGET = 6
    created = lobby_fill(rng=random.Random(1))
    assert len(created) == 6
    durations = Counter(r.duration for r in created)
    assert durations["1d"] == 1 and durations["1h"] == 1 and durations["5m"] >= 2
    assert all(r.is_generated and 3 <= r.entries.count() <= 8 for r in created)
    assert len({r.theme for r in created}) >= 3
    marathon = next(r for r in created if r.duration == "1d")
    # Aligned to a New York regular session: starts 09:30 (14:30 or 13:30 UTC) and ends by 16:00.
    assert marathon.starts_at.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M") == "09:30"
    assert lobby_fill() == []  # full: nothing more


def test_house_accounts_are_marked_and_funded_through_the_ledger(db, settings):
    settings.RACE_HOUSE_BANKROLL = 5000
    ids = house.house_accounts_ensure(count=3)
    assert len(ids) == 3
    assert house.house_accounts_ensure(count=3) == ids  # idempotent: no second top-up
    assert LedgerEntry.objects.filter(user_id__in=ids).count() == 3
    assert all(balances()[i] == 5000 for i in ids)
    assert_ledger_balanced()


def test_house_behaviour_follows_realistic_distributions(settings):
    rng = random.Random(7)
    odds = {"AAA": 1.8, "BBB": 3.5, "CCC": 6.0, "DDD": 12.0}
    choices = [house.bet_choice(rng=rng, odds=odds, duration="5m") for _ in range(3000)]
    kinds = Counter(c["kind"] for c in choices)
    assert kinds["winner"] > kinds["bracket"] > kinds["podium"] > 0
    winners = Counter(c["symbol"] for c in choices if c["kind"] == "winner")
    assert winners["AAA"] > winners["BBB"] > winners["DDD"]  # favourites are backed more often
    stakes = sorted(c["stake"] for c in choices)
    assert stakes[len(stakes) // 2] in range(20, 35)  # median about 25
    assert stakes[-1] > 4 * stakes[len(stakes) // 2]  # a long right tail (log-normal)
    assert all(settings.BET_MIN_STAKE <= s <= settings.BET_MAX_STAKE_PER_RACE for s in stakes)

    offsets = house.bet_offsets(count=3000, window_seconds=300, rng=rng)
    first, last, middle = (sum(1 for o in offsets if lo <= o < hi) for lo, hi in ((0, 30), (269, 300), (120, 150)))
    assert first > 3 * middle and last > 3 * middle  # bets cluster near the open and just before the start


def test_house_bets_go_through_bet_place_and_stay_off_leaderboards(universe, settings):
    settings.BET_COOLDOWN_SECONDS = 0
    settings.RACE_HOUSE_BETTORS = 3
    race = f.RaceFactory(state=S.OPEN, symbols=["AAPL", "MSFT", "NVDA", "AMD"])
    Race.objects.filter(pk=race.pk).update(is_generated=True)
    users = house.house_accounts_ensure()
    placed = [house.house_bet_place(race_id=race.pk, user_id=users[i % 3], seq=i) for i in range(12)]
    assert sum(b is not None for b in placed) >= 6
    again = house.house_bet_place(race_id=race.pk, user_id=users[0], seq=0)  # a retried task
    assert again is None or again.pk == placed[0].pk
    assert Bet.objects.filter(race=race).count() == sum(b is not None for b in placed)
    assert_ledger_balanced()

    player = f.UserFactory(username="real")
    f.BetFactory(race=race, user=player, symbol="AAPL", stake=100)
    f.write_quotes({"AAPL": 10, "MSFT": 10, "NVDA": 10, "AMD": 10})
    lifecycle.race_start(race_id=race.pk, now=race.starts_at)
    f.write_quotes({"AAPL": 11, "MSFT": 10.5, "NVDA": 9, "AMD": 10})
    Race.objects.filter(pk=race.pk).update(ends_at=race.starts_at + timedelta(seconds=1))
    lifecycle.race_finish(race_id=race.pk, now=race.starts_at + timedelta(seconds=2))
    settlement.race_settle(race_id=race.pk)
    leaderboard_sync_race(race_id=race.pk)  # the after-commit task
    assert [r["username"] for r in board_page(board="global", period="").rows] == ["real"]
