"""Property tests of the scoring algorithm (docs/SCORING.md)."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from apps.races.scoring import BetInput, RaceResult, bet_score

SYMBOLS = ("AAA", "BBB", "CCC", "DDD", "EEE", "FFF")
stakes = st.integers(min_value=1, max_value=100_000)
odds = st.floats(min_value=1.01, max_value=100, allow_nan=False)
seconds = st.floats(min_value=0, max_value=600, allow_nan=False)
participants = st.integers(min_value=1, max_value=1_000_000)
streaks = st.integers(min_value=0, max_value=20)
pcts = st.lists(st.floats(min_value=-20, max_value=20, allow_nan=False), min_size=6, max_size=6)


def _result(pct_values, n=10, window=300.0) -> RaceResult:
    pct = dict(zip(SYMBOLS, pct_values))
    order = tuple(sorted(pct, key=lambda s: (-pct[s], SYMBOLS.index(s))))
    return RaceResult(pct=pct, order=order, participants=n, window_seconds=window)


@st.composite
def bets(draw):
    kind = draw(st.sampled_from(["winner", "bracket", "podium"]))
    common = dict(stake=draw(stakes), odds=draw(odds), seconds_before_start=draw(seconds), streak=draw(streaks))
    if kind == "winner":
        return BetInput(kind=kind, symbol=draw(st.sampled_from(SYMBOLS)), **common)
    if kind == "bracket":
        low = draw(st.floats(min_value=-20, max_value=19, allow_nan=False))
        width = draw(st.floats(min_value=0.01, max_value=20, allow_nan=False))
        return BetInput(kind=kind, symbol=draw(st.sampled_from(SYMBOLS)), low_pct=low, high_pct=low + width, **common)
    return BetInput(kind=kind, podium=tuple(draw(st.permutations(SYMBOLS))[:3]), **common)


@given(bets(), pcts, participants)
def test_deterministic(bet, pct, n):
    assert bet_score(bet, _result(pct, n)) == bet_score(bet, _result(pct, n))


@given(bets(), pcts, seconds, seconds)
def test_an_earlier_bet_never_pays_less(bet, pct, a, b):
    early, late = max(a, b), min(a, b)  # seconds before the start: more is earlier
    result = _result(pct)
    p_early, s_early = bet_score(_with(bet, seconds_before_start=early), result)
    p_late, s_late = bet_score(_with(bet, seconds_before_start=late), result)
    assert p_early >= p_late and s_early["total"] >= s_late["total"]


@given(bets(), pcts, participants, participants)
def test_a_larger_race_never_pays_less(bet, pct, a, b):
    small, large = min(a, b), max(a, b)
    assert bet_score(bet, _result(pct, large))[0] >= bet_score(bet, _result(pct, small))[0]


@given(pcts, stakes, odds, seconds, participants)
def test_exact_podium_beats_partial_beats_none(pct, stake, o, secs, n):
    result = _result(pct, n)
    top = result.order
    common = dict(kind="podium", stake=stake, odds=o, seconds_before_start=secs)
    exact = BetInput(podium=top[:3], **common)
    partial = BetInput(podium=(top[0], top[2], top[1]), **common)  # first right, two swapped
    partial_weak = BetInput(podium=(top[1], top[3], top[4]), **common)  # one in the top 3, wrong place
    none = BetInput(podium=(top[3], top[4], top[5]), **common)  # nobody in the top 3
    totals = [bet_score(b, result)[1]["total"] for b in (exact, partial, partial_weak, none)]
    payouts = [bet_score(b, result)[0] for b in (exact, partial, partial_weak, none)]
    assert totals[0] > totals[1] > totals[2] > totals[3] == 0
    assert payouts[0] >= payouts[1] >= payouts[2] >= payouts[3] == 0


@settings(max_examples=200)
@given(pcts, st.sampled_from(SYMBOLS), stakes, odds, seconds,
       st.floats(min_value=0.01, max_value=10, allow_nan=False), st.floats(min_value=0.01, max_value=10, allow_nan=False),
       st.floats(min_value=0.05, max_value=0.95))
def test_a_narrower_correct_bracket_pays_more(pct, symbol, stake, o, secs, w1, w2, where):
    narrow, wide = min(w1, w2), max(w1, w2)
    if wide - narrow < 1e-6:
        return
    result = _result(pct)
    actual = result.pct[symbol]
    low_n = actual - narrow * where  # the actual change lies strictly inside both brackets
    low_w = actual - wide * where
    common = dict(kind="bracket", symbol=symbol, stake=stake, odds=o, seconds_before_start=secs)
    p_n, s_n = bet_score(BetInput(low_pct=low_n, high_pct=low_n + narrow, **common), result)
    p_w, s_w = bet_score(BetInput(low_pct=low_w, high_pct=low_w + wide, **common), result)
    assert s_n["accuracy"] == s_w["accuracy"] == 1.0
    assert s_n["total"] > s_w["total"] and p_n >= p_w


@given(bets(), pcts)
def test_a_missed_bet_pays_nothing_and_a_hit_pays_something_positive(bet, pct):
    payout, score = bet_score(bet, _result(pct))
    assert payout >= 0
    assert (payout > 0) <= (score["accuracy"] > 0)


def _with(bet: BetInput, **changes) -> BetInput:
    from dataclasses import replace

    return replace(bet, **changes)
