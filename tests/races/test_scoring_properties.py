"""Property tests of the scoring algorithm (docs/SCORING.md), with the odds of the pricing model
(docs/ECONOMY.md) where a property is about how a bet is priced and paid together."""
from __future__ import annotations

from dataclasses import replace

from hypothesis import assume, given, settings, strategies as st

from apps.bets import pricing
from apps.races.scoring import (PARTICIPANTS_CAP, STREAK_CAP, TIMING_MAX, BetInput, RaceResult, bet_score,
                                timing_factor)

SYMBOLS = ("AAA", "BBB", "CCC", "DDD", "EEE", "FFF")
stakes = st.integers(min_value=1, max_value=100_000)
odds = st.floats(min_value=1.01, max_value=100, allow_nan=False)
timings = st.floats(min_value=1.0, max_value=TIMING_MAX, allow_nan=False)
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
    common = dict(stake=draw(stakes), odds=draw(odds), timing=draw(timings), streak=draw(streaks))
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


@given(seconds, seconds, st.floats(min_value=1, max_value=3600))
def test_the_early_bet_factor_never_falls_for_an_earlier_bet(a, b, window):
    early, late = max(a, b), min(a, b)  # seconds before betting closes: more is earlier
    assert 1.0 <= timing_factor(late, window) <= timing_factor(early, window) <= TIMING_MAX


@given(bets(), pcts, seconds, seconds)
def test_an_earlier_bet_never_pays_less(bet, pct, a, b):
    early, late = max(a, b), min(a, b)
    result = _result(pct)
    p_early, s_early = bet_score(replace(bet, timing=timing_factor(early, 600)), result)
    p_late, s_late = bet_score(replace(bet, timing=timing_factor(late, 600)), result)
    assert p_early >= p_late and s_early["total"] >= s_late["total"]


@given(bets(), pcts, participants, participants)
def test_a_larger_race_never_pays_less(bet, pct, a, b):
    small, large = min(a, b), max(a, b)
    assert bet_score(bet, _result(pct, large))[0] >= bet_score(bet, _result(pct, small))[0]


@given(pcts, stakes, odds, timings, participants)
def test_exact_podium_beats_partial_beats_none(pct, stake, o, timing, n):
    result = _result(pct, n)
    top = result.order
    common = dict(kind="podium", stake=stake, odds=o, timing=timing)
    exact = BetInput(podium=top[:3], **common)
    partial = BetInput(podium=(top[0], top[2], top[1]), **common)  # first right, two swapped
    partial_weak = BetInput(podium=(top[1], top[3], top[4]), **common)  # one in the top 3, wrong place
    none = BetInput(podium=(top[3], top[4], top[5]), **common)  # nobody in the top 3
    totals = [bet_score(b, result)[1]["total"] for b in (exact, partial, partial_weak, none)]
    payouts = [bet_score(b, result)[0] for b in (exact, partial, partial_weak, none)]
    assert totals[0] > totals[1] > totals[2] > totals[3] == 0
    assert payouts[0] >= payouts[1] >= payouts[2] >= payouts[3] == 0


def _card(sigma: float, duration: str) -> dict:
    return pricing.card_from_parameters(race_seed=1, duration=duration, opens_ts=0, close_ts=300, start_ts=300,
                                        symbols=list(SYMBOLS[:3]), sigma=[sigma] * 3, loading=[0.6] * 3, margin=0.05)


@settings(max_examples=200)
@given(pcts, stakes, st.floats(min_value=0.01, max_value=3, allow_nan=False),
       st.floats(min_value=0.05, max_value=4, allow_nan=False), st.floats(min_value=0.05, max_value=4, allow_nan=False),
       st.floats(min_value=0.05, max_value=0.95), st.sampled_from(["5m", "15m", "1h", "1d"]))
def test_a_narrower_correct_bracket_pays_more(pct, stake, sigma, w1, w2, where, duration):
    """Priced by the model, a narrower bracket around the same result is less likely, so it gets
    higher odds and, when right, never pays less; strictly more when its odds are higher."""
    narrow, wide = min(w1, w2), max(w1, w2)
    assume(wide - narrow > 1e-6)
    card = _card(sigma, duration)
    result = _result(pct)
    actual = result.pct["AAA"]
    low_n = actual - narrow * where  # the actual change lies strictly inside both brackets
    low_w = actual - wide * where
    o_n = pricing.quote(card, kind="bracket", lane=0, low=low_n, high=low_n + narrow, now_ts=0, margin=0.05).odds
    o_w = pricing.quote(card, kind="bracket", lane=0, low=low_w, high=low_w + wide, now_ts=0, margin=0.05).odds
    assert o_n >= o_w
    common = dict(kind="bracket", symbol="AAA", stake=stake, timing=TIMING_MAX)
    p_n, s_n = bet_score(BetInput(odds=float(o_n), low_pct=low_n, high_pct=low_n + narrow, **common), result)
    p_w, s_w = bet_score(BetInput(odds=float(o_w), low_pct=low_w, high_pct=low_w + wide, **common), result)
    assert s_n["accuracy"] == s_w["accuracy"] == 1.0
    assert p_n >= p_w
    if o_n > o_w:
        assert s_n["total"] > s_w["total"]


@given(bets(), pcts)
def test_a_missed_bet_pays_nothing_and_a_hit_pays_something_positive(bet, pct):
    payout, score = bet_score(bet, _result(pct))
    assert payout >= 0
    assert (payout > 0) <= (score["accuracy"] > 0)


@given(bets(), pcts, participants)
def test_the_breakdown_multiplies_out_to_the_payout_and_never_passes_the_maximum(bet, pct, n):
    """stake × odds × accuracy × timing × participants × streak = total, paid rounded down, and never
    above what was shown as the most the bet could pay when it was placed (apps.bets.pricing)."""
    payout, score = bet_score(bet, _result(pct, n))
    if score["accuracy"] > 0:
        product = score["stake"] * score["odds"]
        for factor in ("accuracy", "timing", "participants", "streak"):
            product *= score[factor]
        assert product == score["total"] and payout == int(score["total"] + 1e-9)
    shown = pricing.Quote(odds=pricing.round_odds(bet.odds, bet.kind), chance=0.5, expected_accuracy=0.5,
                          timing=bet.timing).potential_payout(bet.stake, bet.kind)
    exact_odds = bet_score(replace(bet, odds=float(pricing.round_odds(bet.odds, bet.kind))), _result(pct, n))[0]
    assert exact_odds <= shown
    assert score["participants"] <= PARTICIPANTS_CAP and score["streak"] <= (STREAK_CAP if bet.kind == "winner" else 1)
