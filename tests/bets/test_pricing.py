"""The pricing model's promises, as properties over random races (docs/ECONOMY.md).

For any race (3–8 stocks, any duration, any volatilities and correlations) and any bet a player
can place on it, the expected payout under the model — counting the partial podium credit and the
best timing, field and streak — is at most (1 − margin) × stake. Underdogs pay more, narrower
brackets pay more, and what a bet can pay never exceeds what it was shown it could pay.
"""
from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, assume, given, settings as hsettings, strategies as st

from apps.bets import errors, pricing
from apps.bets.services import quote_bet
from apps.bets.spec import bet_spec
from apps.races import scoring

MARGINS = st.sampled_from([0.0, 0.02, 0.05, 0.1])
DURATIONS = st.sampled_from(["5m", "15m", "1h", "1d"])
BEST = dict(participants=10**6, streak=99)  # the largest field and the best streak


@st.composite
def races(draw):
    n = draw(st.integers(3, 8))
    sigma = draw(st.lists(st.floats(0.005, 5.0, allow_nan=False), min_size=n, max_size=n))
    loading = draw(st.lists(st.floats(0.0, 0.95, allow_nan=False), min_size=n, max_size=n))
    duration = draw(DURATIONS)
    margin = draw(MARGINS)
    tick = draw(st.lists(st.one_of(st.none(), st.floats(0.001, 0.2)), min_size=n, max_size=n))
    card = pricing.card_from_parameters(race_seed=draw(st.integers(1, 10**6)), duration=duration, opens_ts=0.0,
                                        close_ts=300.0, start_ts=300.0, symbols=[f"S{i}" for i in range(n)],
                                        sigma=sigma, loading=loading, margin=margin, tick=tick)
    return card


def _payout(card: dict, bet: scoring.BetInput, order: tuple[str, ...], pct: dict | None = None) -> int:
    result = scoring.RaceResult(pct=pct or {}, order=order, participants=BEST["participants"], window_seconds=300)
    return scoring.bet_score(bet, result)[0]


def _early(card: dict) -> float:
    return pricing.timing_factor(card, card["opens"])  # the best timing: when betting opens


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(races(), st.integers(1, 500))
def test_every_winner_bet_keeps_the_margin(card, stake):
    n = len(card["symbols"])
    for lane, symbol in enumerate(card["symbols"]):
        quote = pricing.quote(card, kind="winner", lane=lane, now_ts=card["opens"], margin=card["margin"])
        bet = scoring.BetInput(kind="winner", stake=stake, odds=float(quote.odds), symbol=symbol,
                               timing=_early(card), streak=BEST["streak"])
        win = _payout(card, bet, (symbol,) + tuple(s for s in card["symbols"] if s != symbol))
        expected = card["p"][lane] * win  # a miss pays 0
        assert expected <= (1 - card["margin"]) * stake + 1e-9
        assert win <= quote.potential_payout(stake, "winner")
    assert sum(card["p"]) == pytest.approx(1.0, abs=1e-6) and n >= 3


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(races(), st.integers(1, 500), st.floats(-8, 8), st.floats(0.0, 8.0), st.integers(0, 7))
def test_every_bracket_bet_keeps_the_margin(card, stake, centre, half_sigmas, lane):
    lane %= len(card["symbols"])
    sigma = card["sigma"][lane]
    low, high = round(centre * sigma, 3), round((centre + max(half_sigmas, 0.001)) * sigma + 0.05, 3)
    quote = pricing.quote(card, kind="bracket", lane=lane, low=low, high=high, now_ts=card["opens"],
                          margin=card["margin"])
    symbol = card["symbols"][lane]
    inside = (low + high) / 2
    bet = scoring.BetInput(kind="bracket", stake=stake, odds=float(quote.odds), symbol=symbol, low_pct=low,
                           high_pct=high, timing=_early(card), streak=BEST["streak"])
    win = _payout(card, bet, tuple(card["symbols"]), pct={symbol: inside})
    assert quote.chance * win <= (1 - card["margin"]) * stake + 1e-9
    assert win <= quote.potential_payout(stake, "bracket")


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(races(), st.integers(1, 500), st.randoms(use_true_random=False))
def test_every_podium_bet_keeps_the_margin_with_its_partial_credit(card, stake, rnd):
    """The expectation runs over the model's own simulated orders, scored by settlement's scoring."""
    n = len(card["symbols"])
    sigma = card["sigma"]
    freq = pricing.simulate_top3(sigma, card["load"], seed=card["seed"])  # the very paths the card was priced on
    picks = pricing.podium_picks(n)
    for pick in rnd.sample(picks, min(6, len(picks))):
        quote = pricing.quote(card, kind="podium", podium=pick, now_ts=card["opens"], margin=card["margin"])
        names = tuple(card["symbols"][i] for i in pick)
        bet = scoring.BetInput(kind="podium", stake=stake, odds=float(quote.odds), podium=names, timing=_early(card),
                               streak=BEST["streak"])
        expected = 0.0
        for top, share in zip(picks, freq):
            if share:
                order = tuple(card["symbols"][i] for i in top)
                expected += share * _payout(card, bet, order + tuple(s for s in card["symbols"] if s not in order))
        assert expected <= (1 - card["margin"]) * stake + 1e-6
        exact = _payout(card, bet, names + tuple(s for s in card["symbols"] if s not in names))
        assert exact <= quote.potential_payout(stake, "podium")


@hsettings(max_examples=80, deadline=None)
@given(races())
def test_a_likelier_winner_never_pays_more(card):
    odds = [pricing.winner_odds(card, lane) for lane in range(len(card["symbols"]))]
    for a in range(len(odds)):
        for b in range(len(odds)):
            if card["p"][a] < card["p"][b]:
                assert odds[a] >= odds[b]  # the underdog pays at least as much


@hsettings(max_examples=60, deadline=None)
@given(races(), st.floats(-3, 3), st.floats(0.05, 4), st.floats(0.0, 1.0), st.integers(0, 7))
def test_a_narrower_bracket_inside_a_wider_one_never_pays_less(card, low, width, shrink, lane):
    lane %= len(card["symbols"])
    narrow_low, narrow_high = low + width * shrink / 2, low + width - width * shrink / 2
    assume(narrow_high - narrow_low >= 0.05)
    wide = pricing.quote(card, kind="bracket", lane=lane, low=low, high=low + width, now_ts=0, margin=card["margin"])
    narrow = pricing.quote(card, kind="bracket", lane=lane, low=narrow_low, high=narrow_high, now_ts=0,
                           margin=card["margin"])
    assert narrow.chance <= wide.chance + 1e-12
    assert narrow.odds >= wide.odds


@hsettings(max_examples=30, deadline=None)
@given(races(), st.floats(0, 300), st.floats(0, 300))
def test_an_earlier_bet_gets_at_least_the_same_factor(card, a, b):
    early, late = min(a, b), max(a, b)  # seconds after betting opened: fewer is earlier
    assert pricing.timing_factor(card, early) >= pricing.timing_factor(card, late)
    assert pricing.timing_factor(card, 0) == pytest.approx(scoring.TIMING_MAX)


@hsettings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(races(), st.integers(0, 7), st.floats(0.05, 10), st.floats(-1, 1))
def test_no_bet_the_rules_accept_is_near_certain_or_pays_back_less_than_its_stake(card, lane, width, shift):
    lane %= len(card["symbols"])
    symbol = card["symbols"][lane]
    low = round(card["sigma"][lane] * shift - width / 2, 3)
    high = round(low + width, 3)
    assume(-50 <= low and high <= 50)
    spec = bet_spec(kind="bracket", stake=10, symbol=symbol, low_pct=low, high_pct=high)
    try:
        quote = quote_bet(card, spec, card["opens"])
    except errors.BetRefused as refusal:
        assert refusal.detail.code in ("near_certain", "bracket_out_of_range", "bracket_too_narrow")
        return
    assert quote.chance <= 0.9 and quote.odds >= pricing.MIN_ODDS


def test_the_widest_bracket_a_refusal_suggests_is_accepted():
    card = pricing.card_from_parameters(race_seed=1, duration="5m", opens_ts=0, close_ts=300, start_ts=300,
                                        symbols=["A", "B", "C"], sigma=[0.1, 0.2, 0.3], loading=[0.5] * 3, margin=0.05)
    with pytest.raises(errors.BetRefused) as refused:
        quote_bet(card, bet_spec(kind="bracket", stake=10, symbol="A", low_pct=-0.6, high_pct=0.6), 0)
    assert refused.value.detail.code == "near_certain" and "narrow it" in str(refused.value.detail)
    half = pricing.widest_bracket_around(card, 0, pricing.max_chance(card, "bracket", 0.9) * 0.98)
    bounds = math.floor(half * 1000) / 1000
    quote = quote_bet(card, bet_spec(kind="bracket", stake=10, symbol="A", low_pct=-bounds, high_pct=bounds), 0)
    assert quote.chance <= 0.9 and quote.odds >= pricing.MIN_ODDS
