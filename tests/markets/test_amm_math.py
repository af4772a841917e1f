"""The three market makers against an independent high-precision computation (mpmath, 60
digits, written from the formulas, not from the code), the published anchors, and the property
that no round trip returns more than it cost."""
from __future__ import annotations

from decimal import Decimal as D

import mpmath
import pytest
from hypothesis import assume, given, settings, strategies as st

from apps.markets.amm import Refusal, cpmm, lmsr, sigmoid
from apps.markets.amm.numeric import calc

mpmath.mp.dps = 60
TOL = mpmath.mpf("1e-9")


def mp(x) -> mpmath.mpf:
    return mpmath.mpf(str(x))


def close(a, b, tol=TOL) -> bool:
    return abs(mp(a) - mp(b)) <= tol


# --------------------------------------------------------------------------- CPMM: independent math


def mp_prob(y, n, p):
    y, n, p = mp(y), mp(n), mp(p)
    return p * n / ((1 - p) * y + p * n)


def mp_yes_shares(y, n, p, b):
    """The issue's formula as written: Y + b - (k·(N+b)^(p-1))^(1/p)."""
    y, n, p, b = mp(y), mp(n), mp(p), mp(b)
    k = y ** p * n ** (1 - p)
    return y + b - (k * (n + b) ** (p - 1)) ** (1 / p)


def mp_no_shares(y, n, p, b):
    y, n, p, b = mp(y), mp(n), mp(p), mp(b)
    k = y ** p * n ** (1 - p)
    return n + b - (k * (y + b) ** (-p)) ** (1 / (1 - p))


def mp_sale(y, n, p, s):
    """Proceeds r of selling s YES shares: (Y + s - r)^p (N - r)^(1-p) = k, by bisection."""
    y, n, p, s = mp(y), mp(n), mp(p), mp(s)
    k = y ** p * n ** (1 - p)
    lo, hi = mp(0), min(n, y + s)
    for _ in range(300):
        mid = (lo + hi) / 2
        if (y + s - mid) ** p * (n - mid) ** (1 - p) > k:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def test_published_anchors():
    assert cpmm.probability(cpmm.CpmmState(D(100), D(100), D("0.5"))) == D("0.5")
    assert cpmm.probability(cpmm.CpmmState(D(150), D(50), D("0.5"))) == D("0.25")
    start = cpmm.CpmmState(D(100), D(100), D("0.5"))
    shares, after = cpmm.buy_amount(start, cpmm.YES, D(10))
    assert close(shares, mpmath.mpf(210) / 11)  # 19.090909…
    assert str(shares).startswith("19.0909090909")
    assert close(cpmm.probability(after), mpmath.mpf(110) / (110 + mpmath.mpf(1000) / 11))  # 0.547511…
    assert str(cpmm.probability(after)).startswith("0.547511")
    proceeds, back = cpmm.sell_shares(after, cpmm.YES, shares)
    assert close(proceeds, 10, tol=mpmath.mpf("1e-15"))  # exactly 10 before fees (to the 18th place)
    assert proceeds <= 10
    assert close(cpmm.probability(back), "0.5", tol=mpmath.mpf("1e-15"))


pools = st.integers(min_value=20, max_value=10 ** 6).map(D)
weights = st.integers(min_value=5, max_value=95).map(lambda v: D(v) / 100)
amounts = st.integers(min_value=1, max_value=10 ** 5).map(D)


@settings(max_examples=150, deadline=None)
@given(y=pools, n=pools, p=weights, b=amounts, outcome=st.sampled_from([cpmm.YES, cpmm.NO]))
def test_cpmm_buy_matches_independent_computation(y, n, p, b, outcome):
    state = cpmm.CpmmState(y, n, p, floor=D("0.000001"))
    assume(D("0.01") <= cpmm.probability(state) <= D("0.99"))
    try:
        shares, after = cpmm.buy_amount(state, outcome, b)
    except Refusal:
        assume(False)
    expected = mp_yes_shares(y, n, p, b) if outcome == cpmm.YES else mp_no_shares(y, n, p, b)
    assert close(shares, expected)
    assert shares <= expected + mpmath.mpf("1e-30")  # rounded down, in the house's favour
    assert close(cpmm.probability(after), mp_prob(after.yes, after.no, p))
    # The invariant holds (to the 18th place, never below: the pools keep what rounding cut).
    k0, k1 = mp(y) ** mp(p) * mp(n) ** (1 - mp(p)), mp(after.yes) ** mp(p) * mp(after.no) ** (1 - mp(p))
    assert k1 >= k0 * (1 - mpmath.mpf("1e-30"))
    assert close(k1, k0, tol=k0 * mpmath.mpf("1e-15"))


@settings(max_examples=100, deadline=None)
@given(y=pools, n=pools, p=weights, s=st.integers(min_value=1, max_value=10 ** 4).map(D))
def test_cpmm_buy_shares_and_sale_match_independent_computation(y, n, p, s):
    state = cpmm.CpmmState(y, n, p, floor=D("0.000001"))
    assume(D("0.01") <= cpmm.probability(state) <= D("0.99"))
    try:
        cost, after = cpmm.buy_shares(state, cpmm.YES, s)
    except Refusal:
        assume(False)
    # Buying exactly s shares costs the amount whose purchase gives s shares.
    assert close(mp_yes_shares(y, n, p, cost), s)
    try:
        proceeds, _ = cpmm.sell_shares(state, cpmm.YES, s)
    except Refusal:
        assume(False)
    assert close(proceeds, mp_sale(y, n, p, s))


def test_cpmm_liquidity_keeps_the_probability():
    state = cpmm.CpmmState(D(100), D(300), D("0.4"))
    before = cpmm.probability(state)
    after = cpmm.add_liquidity(state, D(250))
    assert (after.yes, after.no) == (D(350), D(550))
    assert close(cpmm.probability(after), before, tol=mpmath.mpf("1e-15"))
    assert close(mp_prob(after.yes, after.no, after.p), mp_prob(100, 300, "0.4"), tol=mpmath.mpf("1e-15"))


def test_cpmm_refuses_past_the_floor_and_the_probability_bounds():
    state = cpmm.initial(liquidity=D(1000), probability=D("0.5"))
    with pytest.raises(cpmm.PriceLimit):
        cpmm.buy_amount(state, cpmm.YES, D(9000))  # the YES pool would still hold ~100 shares
    with pytest.raises(cpmm.Dry):
        cpmm.buy_amount(state, cpmm.YES, D(10 ** 7))  # ~0.1 shares left in the YES pool
    cpmm.buy_amount(state, cpmm.YES, D(8000))  # 98.8 %: allowed
    with pytest.raises(cpmm.Dry):
        cpmm.check(cpmm.CpmmState(D("0.5"), D("0.5"), D("0.5"), floor=D(1)))


# --------------------------------------------------------------------------- LMSR


def mp_cost(q, b):
    return mp(b) * mpmath.log(mpmath.fsum(mpmath.exp(mp(x) / mp(b)) for x in q))


def test_lmsr_anchor():
    prices = lmsr.probabilities(lmsr.LmsrState((D(10), D(20), D(23)), D(10)))
    assert round(prices[0], 4) == D("0.1354")  # outcome 1 of (10, 20, 23), b = 10
    assert close(sum(prices), 1, tol=mpmath.mpf("1e-40"))


def test_lmsr_survives_quantities_whose_exponentials_overflow_floats():
    state = lmsr.LmsrState((D(100_000), D(99_990), D(0)), D(10))  # e^10000 overflows a double
    prices = lmsr.probabilities(state)
    assert close(prices[0], 1 / (1 + mpmath.exp(-1) + mpmath.exp(-10_000)))
    assert close(lmsr.cost(state.q, state.b), mp_cost(state.q, state.b))


@settings(max_examples=100, deadline=None)
@given(q=st.lists(st.integers(min_value=0, max_value=5000).map(D), min_size=2, max_size=8),
       b=st.integers(min_value=5, max_value=2000).map(D), amount=amounts, data=st.data())
def test_lmsr_matches_independent_computation(q, b, amount, data):
    outcome = data.draw(st.integers(min_value=0, max_value=len(q) - 1))
    state = lmsr.LmsrState(tuple(q), b)
    shares, after = lmsr.buy_amount(state, outcome, amount)
    # What the shares cost by the plain cost function is the amount (less the cut-off shares).
    paid = mp_cost(after.q, b) - mp_cost(q, b)
    assert paid <= mp(amount) + mpmath.mpf("1e-30")
    assert close(paid, amount)
    cost, _ = lmsr.buy_shares(state, outcome, shares)
    assert close(cost, paid) and cost <= amount
    weights = [mpmath.exp(mp(x) / mp(b)) for x in q]
    for mine, w in zip(lmsr.probabilities(state), weights):
        assert close(mine, w / mpmath.fsum(weights))


def test_lmsr_worst_loss_is_b_ln_n():
    assert close(lmsr.worst_loss(outcomes=4, b=D(50)), 50 * mpmath.log(4))


# --------------------------------------------------------------------------- sigmoid


CURVE = sigmoid.Curve(p_min=D("0.05"), p_max=D("0.95"), k=D(8), x0=D("0.5"), max_shares=D(1000))


def mp_price(curve, x):
    return mp(curve.p_min) + (mp(curve.p_max) - mp(curve.p_min)) / (
        1 + mpmath.exp(-mp(curve.k) * (mp(x) / mp(curve.max_shares) - mp(curve.x0))))


@pytest.mark.parametrize("x1,x2", [(0, 100), (-400, 250), (480, 520), (900, 1000), (-1000, 1000)])
def test_sigmoid_charges_the_exact_integral(x1, x2):
    expected = mpmath.quad(lambda x: mp_price(CURVE, x), [x1, (x1 + x2) / 2, x2])
    assert close(sigmoid.area(CURVE, D(x1), D(x2)), expected, tol=mpmath.mpf("1e-20"))


def test_sigmoid_buy_by_amount_and_refusals():
    state = sigmoid.initial(curve=CURVE)
    shares, after = sigmoid.buy_amount(state, sigmoid.YES, D(100))
    assert close(mpmath.quad(lambda x: mp_price(CURVE, x), [0, mp(shares)]), 100)
    assert sigmoid.probabilities(after)[0] > sigmoid.probabilities(state)[0]
    with pytest.raises(sigmoid.Dry):
        sigmoid.buy_shares(after, sigmoid.YES, D(1000))
    with pytest.raises(sigmoid.Dry):
        sigmoid.sell_shares(state, sigmoid.YES, D(1001))  # a short past -X
    with pytest.raises(sigmoid.Dry):
        sigmoid.buy_amount(state, sigmoid.YES, D(10_000))


def average_price_cost(curve, x1, x2):
    """Brief 03's first rule, to show what it allows: the average of the start and end prices."""
    with calc():
        return (x2 - x1) * (sigmoid.price(curve, x1) + sigmoid.price(curve, x2)) / 2


def test_average_price_rule_is_exploitable_and_the_integral_is_not():
    start, pieces = D(550), 100  # the concave part of the curve, above its midpoint
    end = start + pieces
    # The average rule: buy 100 in one piece, sell back one by one.
    paid = average_price_cost(CURVE, start, end)
    returned = sum(average_price_cost(CURVE, end - i - 1, end - i) for i in range(pieces))
    assert returned > paid  # a free profit
    # The integral: the same round trip returns at most what it cost.
    state = sigmoid.SigmoidState(supply=start, curve=CURVE)
    cost, state = sigmoid.buy_shares(state, sigmoid.YES, D(pieces))
    back = D(0)
    for _ in range(pieces):
        proceeds, state = sigmoid.sell_shares(state, sigmoid.YES, D(1))
        back += proceeds
    assert back <= cost


# --------------------------------------------------------------------------- round trips on every curve


def _pieces(total: D, weights: list[int]) -> list[D]:
    """``total`` cut into len(weights) positive pieces (down to the 18th place), the last the rest."""
    out, left = [], total
    scale = sum(weights)
    for w in weights[:-1]:
        piece = (total * w / scale).quantize(D("1e-18"), rounding="ROUND_FLOOR")
        if piece > 0 and piece < left:
            out.append(piece)
            left -= piece
    return out + [left]


def _round_trip(module, state, outcome, amount, weights):
    shares, state = module.buy_amount(state, outcome, amount)
    assume(shares > 0)
    back = D(0)
    for piece in _pieces(shares, weights):
        proceeds, state = module.sell_shares(state, outcome, piece)
        back += proceeds
    return back


piece_weights = st.lists(st.integers(min_value=1, max_value=100), min_size=1, max_size=40)


@settings(max_examples=120, deadline=None)
@given(y=pools, n=pools, p=weights, amount=amounts, weights_=piece_weights,
       outcome=st.sampled_from([cpmm.YES, cpmm.NO]))
def test_cpmm_round_trip_never_returns_more_than_it_cost(y, n, p, amount, weights_, outcome):
    state = cpmm.CpmmState(y, n, p, floor=D("0.000001"))
    assume(D("0.01") <= cpmm.probability(state) <= D("0.99"))
    try:
        back = _round_trip(cpmm, state, outcome, amount, weights_)
    except Refusal:
        assume(False)
    assert back <= amount


@settings(max_examples=120, deadline=None)
@given(q=st.lists(st.integers(min_value=0, max_value=3000).map(D), min_size=2, max_size=6),
       b=st.integers(min_value=5, max_value=1000).map(D), amount=amounts, weights_=piece_weights, data=st.data())
def test_lmsr_round_trip_never_returns_more_than_it_cost(q, b, amount, weights_, data):
    outcome = data.draw(st.integers(min_value=0, max_value=len(q) - 1))
    assert _round_trip(lmsr, lmsr.LmsrState(tuple(q), b), outcome, amount, weights_) <= amount


@settings(max_examples=120, deadline=None)
@given(supply=st.integers(min_value=-900, max_value=900).map(D), amount=st.integers(min_value=1, max_value=300).map(D),
       weights_=piece_weights, k=st.integers(min_value=1, max_value=20).map(D))
def test_sigmoid_round_trip_never_returns_more_than_it_cost(supply, amount, weights_, k):
    curve = sigmoid.Curve(p_min=D("0.02"), p_max=D("0.98"), k=k, x0=D("0.5"), max_shares=D(1000))
    try:
        back = _round_trip(sigmoid, sigmoid.SigmoidState(supply=supply, curve=curve), sigmoid.YES, amount, weights_)
    except Refusal:
        assume(False)
    assert back <= amount


# --------------------------------------------------------------------------- the same, in whole points


@settings(max_examples=80, deadline=None)
@given(mechanism=st.sampled_from(["cpmm", "lmsr", "sigmoid"]), amount=st.integers(min_value=2, max_value=2000),
       fee=st.sampled_from(["0", "1.67"]), weights_=piece_weights)
def test_a_round_trip_in_whole_points_never_returns_more_than_it_cost(mechanism, amount, fee, weights_):
    """Through the one pricing function (fees, whole points, the house's rounding): buying for
    ``amount`` points and selling every share back, in any number of pieces, returns at most
    ``amount`` (and less once there is a fee)."""
    from apps.markets.pricing import Order, fill_for

    state = {"cpmm": cpmm.initial(liquidity=D(500), probability=D("0.4")),
             "lmsr": lmsr.initial(outcomes=3, b=D(40)),
             "sigmoid": sigmoid.initial(curve=CURVE)}[mechanism]
    common = {"mechanism": mechanism, "outcomes": 3 if mechanism == "lmsr" else 2, "fee_pct": D(fee)}
    try:
        bought = fill_for(state=state, order=Order(outcome=0, side="buy", amount=amount), **common)
    except Exception:  # a refusal (too small, dry): nothing to round-trip
        assume(False)
    state, held, back = bought.state, bought.position_after, 0
    for piece in _pieces(held, weights_):
        try:
            sold = fill_for(state=state, order=Order(outcome=0, side="sell", shares=piece), position=held, **common)
        except Exception:  # a piece worth under a point cannot be sold: it is simply kept
            continue
        state, held, back = sold.state, sold.position_after, back + sold.cash
    assert back <= amount
    if fee != "0":
        assert back < amount
