"""The economy on real bars (docs/ECONOMY.md): calibration by decile, no strategy beating the house,
the command's output, unseen bar files and the held-out symbols.

The full run (12,000 races) is ``manage.py economy_backtest``; these tests price a subset, so
that the suite stays quick. Tests that need the shared data skip saying so when it is absent.
"""
from __future__ import annotations

import json
import random
import shutil
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command

from apps.bets import backtest, pricing_estimate as est

INTRADAY, DAILY = backtest.default_files()
needs_data = pytest.mark.skipif(not INTRADAY or not DAILY,
                                reason=f"the shared market data is absent ({backtest.SHARED_MARKET})")
# Simultaneous 95 % intervals for ten deciles of one kind (Bonferroni): each decile's own interval
# is 99.5 %, so a well-calibrated model fails the test by chance about one time in twenty.
Z_TEN_DECILES = 2.81


def _held_out(paths, held):
    return [p for p in paths if p.name.split("_")[0] in held]


def _tuned(paths, held):
    return [p for p in paths if p.name.split("_")[0] not in held]


def _races(intraday_files, daily_files, *, intraday: int, daily: int, seed: int):
    rng = random.Random(seed)
    built = backtest.intraday_races(backtest.load(intraday_files, want="1m"), count=intraday, rng=rng, window=300,
                                    close_before=backtest.REAL_FEED_CLOSE_SECONDS)
    built += backtest.daily_races(backtest.load(daily_files, want="1d"), count=daily, rng=rng, window=300,
                                  close_before=backtest.REAL_FEED_CLOSE_SECONDS, first_key=len(built))
    backtest.price(built, margin=settings.BET_HOUSE_MARGIN)
    return built


@pytest.fixture(scope="module")
def shared_races():
    return _races(INTRADAY, DAILY, intraday=450, daily=450, seed=3)


@pytest.fixture(scope="module")
def held_out_races():
    return _races(_held_out(INTRADAY, est.HELD_OUT_INTRADAY), _held_out(DAILY, est.HELD_OUT_DAILY),
                  intraday=300, daily=450, seed=4)


def _assert_calibrated(races):
    for kind, table in backtest.calibration(races, z=Z_TEN_DECILES).items():
        misses = [row for row in table if not row["ok"]]
        assert not misses, (kind, misses)
        assert len(table) == 10


@needs_data
def test_winner_chances_and_bracket_hits_agree_with_what_happened_by_decile(shared_races):
    _assert_calibrated(shared_races)


@needs_data
def test_calibration_holds_on_symbols_never_used_for_tuning(held_out_races):
    assert {s for race in held_out_races for s in race.symbols} <= est.HELD_OUT_INTRADAY | est.HELD_OUT_DAILY
    _assert_calibrated(held_out_races)


def _table(races, margin):
    names = [name for name, _ in backtest.strategies(settings.BET_MAX_WIN_PROBABILITY)]
    return backtest.summarise(backtest.play(races, seed=1), names)


def _assert_no_strategy_beats_the_house(table, margin):
    limit = 1 - margin / 2
    assert len(table) == 11 * 2 * 2 * 2  # strategies × timings × field sizes × streaks
    # On a subset a strategy's mean is noisy: none may be significantly above the limit.
    assert [r["name"] for r in table if r["ci_low"] > limit] == []
    hedge = [r for r in table if r["name"].startswith("winner every stock")]
    # Betting every stock wins every race and is almost noise-free: it loses the margin, and more.
    assert hedge and all(r["ci_high"] <= 1 - margin for r in hedge)
    assert all(r["hit_rate"] > 0 for r in table)


@needs_data
def test_no_strategy_beats_the_house_on_the_shared_data(shared_races):
    table = _table(shared_races, settings.BET_HOUSE_MARGIN)
    _assert_no_strategy_beats_the_house(table, settings.BET_HOUSE_MARGIN)
    staked = sum(r["bets"] for r in table)
    assert sum(r["mean"] * r["bets"] for r in table) / staked <= 1 - settings.BET_HOUSE_MARGIN / 2


@needs_data
def test_no_strategy_beats_the_house_on_held_out_symbols(held_out_races):
    _assert_no_strategy_beats_the_house(_table(held_out_races, settings.BET_HOUSE_MARGIN), settings.BET_HOUSE_MARGIN)


@needs_data
def test_the_command_reads_bar_files_it_has_never_seen(tmp_path):
    """Files named like AAPL_1min.csv and XYZ_data.csv, symbols the game has never listed."""
    for i, source in enumerate(_held_out(INTRADAY, est.HELD_OUT_INTRADAY)[:3]):
        shutil.copy(source, tmp_path / f"ZQ{i}_1min.csv")
    for i, source in enumerate(_held_out(DAILY, est.HELD_OUT_DAILY)[:4]):
        shutil.copy(source, tmp_path / f"ZD{i}_data.csv")
    out = StringIO()
    call_command("economy_backtest", "--bars", *sorted(str(p) for p in tmp_path.glob("*_1min.csv")),
                 "--daily", *sorted(str(p) for p in tmp_path.glob("*_data.csv")), "--races", "24", "--seed", "5",
                 "--json", stdout=out)
    body = json.loads(out.getvalue())
    assert set(body) == {"strategies", "races"} and body["races"] == 24
    assert len(body["strategies"]) == 88
    for row in body["strategies"]:
        assert set(row) == {"name", "mean", "ci_low", "ci_high", "hit_rate", "bets"}
        assert row["ci_low"] <= row["mean"] <= row["ci_high"] and 0 <= row["hit_rate"] <= 1
    text = StringIO()
    call_command("economy_backtest", "--daily", *sorted(str(p) for p in tmp_path.glob("*_data.csv")),
                 "--bars", str(tmp_path / "ZQ0_1min.csv"), "--races", "12", stdout=text)
    assert "| strategy" in text.getvalue() and "calibration, winner" in text.getvalue()


def test_the_command_refuses_files_it_cannot_read(tmp_path):
    bad = tmp_path / "BAD_1min.csv"
    bad.write_text("when,price\n2019-02-11 09:31:00,1\n")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="missing"):
        call_command("economy_backtest", "--bars", str(bad), "--daily", str(bad), "--races", "5", stdout=StringIO())
