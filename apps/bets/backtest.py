"""The economy backtest: races built from real bar files, priced and scored as the game does.

``manage.py economy_backtest`` (docs/ECONOMY.md) calls ``run``. Races are built from one-minute
bars (5m, 15m and 1h races inside regular sessions) and daily bars (full-day races, session open
to close). Each race is priced by ``apps.bets.pricing.build_card`` from the bars before its
betting window opens — the function bet publication calls — each bet is quoted and refused by the
same rules as bet placement (``apps.bets.services.quote_bet``), and scored by settlement's scoring
(``apps.races.scoring.bet_score``). Nothing touches the database.
"""
from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from apps.bets import pricing
from apps.bets import pricing_estimate as est
from apps.market.bar_files import read_bar_file
from apps.market.sessions import session_table
from apps.races import scoring

NEW_YORK = ZoneInfo("America/New_York")
SHARED_MARKET = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "market"
STAKE = 100
INTRADAY_DURATIONS = ("5m", "15m", "1h")
PLAYER_COUNTS = (12, 1000)
# Real bars are a real feed's: betting closes as BET_CLOSE_BEFORE_START_SECONDS's default for a real
# provider says (the simulator's setting is 0).
REAL_FEED_CLOSE_SECONDS = 5.0
# The race history a price may use: enough one-minute bars for the estimators, and 60 sessions.
HISTORY_MINUTES = est.CORR_INTRADAY_LOOKBACK
HISTORY_SESSIONS = est.DAILY_LOOKBACK


def default_files() -> tuple[list[Path], list[Path]]:
    return (sorted((SHARED_MARKET / "intraday_1min").glob("*.csv")),
            sorted((SHARED_MARKET / "daily_sp500").glob("*.csv")))


@dataclass
class Series:
    starts: np.ndarray
    opens: np.ndarray
    closes: np.ndarray

    def index_at_or_after(self, ts: int) -> int:
        return int(np.searchsorted(self.starts, ts, side="left"))


def load(paths: list[Path], *, tz: ZoneInfo = NEW_YORK, label: str = "end", want: str) -> dict[str, Series]:
    """Bars by symbol from files in the layouts ``import_bars`` reads (intraday or daily, by content)."""
    out = {}
    for path in paths:
        bars = read_bar_file(Path(path), tz=tz, label=label)
        if (bars.interval == "1d") != (want == "1d"):
            continue
        if want == "1m" and bars.interval != "1m":
            continue
        rows = np.array([(r[0], r[3]) for r in bars.rows], dtype=float)
        out[bars.symbol] = Series(np.array(bars.starts, dtype=np.int64), rows[:, 0], rows[:, 1])
    return out


@dataclass
class Race:
    key: int
    duration: str
    day: str  # the New York session date: the cluster of the confidence intervals
    symbols: list[str]
    opens_ts: int
    close_ts: int
    start_ts: int
    end_ts: int
    pct: dict[str, float]
    inputs: list[pricing.StockInput]
    late_inputs: list[pricing.StockInput] = field(default_factory=list)  # history up to the close of betting
    market: list[pricing.StockInput] = field(default_factory=list)  # the basket proxying the market factor
    card: dict | None = None

    @property
    def order(self) -> tuple[str, ...]:
        return scoring.final_order(self.pct, {s: i for i, s in enumerate(self.symbols)})


def _minutes(series: Series, before_ts: int) -> est.Minutes:
    end = int(np.searchsorted(series.starts, before_ts - 60, side="right"))  # bars that ended by before_ts
    start = max(0, end - HISTORY_MINUTES)
    return est.Minutes(series.starts[start:end], series.opens[start:end], series.closes[start:end])


def _days(series: Series, before_ts: int) -> est.Days:
    end = int(np.searchsorted(series.starts, before_ts, side="left"))
    start = max(0, end - HISTORY_SESSIONS)
    return est.Days(series.starts[start:end], series.opens[start:end], series.closes[start:end])


def basket(symbols: list[str], exclude: list[str], size: int = pricing.MARKET_BASKET) -> list[str]:
    """Up to ``size`` other symbols, spread evenly over the sorted list (deterministic)."""
    others = [s for s in sorted(symbols) if s not in exclude]
    if len(others) <= size:
        return others
    return [others[i * len(others) // size] for i in range(size)]


def _pct(open_price: float, close_price: float) -> float:
    return round((close_price - open_price) / open_price * 100, 4)


def _new_york_date(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).astimezone(NEW_YORK).date().isoformat()


def intraday_races(bars: dict[str, Series], *, count: int, rng: random.Random, window: int, close_before: int,
                   first_key: int = 0) -> list[Race]:
    """Races of 5m, 15m and 1h inside regular sessions, 3–8 stocks each, starting on whole minutes."""
    table = session_table()
    if len(bars) < 3:
        return []
    sessions = sorted({i for s in bars.values() for i in {table.index_of(int(t)) for t in s.starts[::30]}} - {None})
    sessions = sessions[1:]  # the first session has no history before it
    races: list[Race] = []
    attempts = 0
    while len(races) < count and sessions and attempts < count * 20:
        attempts += 1
        duration = INTRADAY_DURATIONS[len(races) % len(INTRADAY_DURATIONS)]
        minutes = est.DURATION_MINUTES[duration]
        session = rng.choice(sessions)
        length = (table.closes[session] - table.opens[session]) // 60
        start = table.opens[session] + 60 * rng.randrange(0, length - minutes + 1)
        end = start + 60 * minutes
        symbols = []
        pct = {}
        for symbol in rng.sample(sorted(bars), k=min(len(bars), rng.randint(3, 8))):
            s = bars[symbol]
            i = s.index_at_or_after(start)
            j = int(np.searchsorted(s.starts, end - 60, side="right")) - 1  # the last bar ending by the end
            if i >= len(s.starts) or s.starts[i] >= start + 60 or j < i:
                continue  # no trade in the race's first minute, or none inside it
            symbols.append(symbol)
            pct[symbol] = _pct(float(s.opens[i]), float(s.closes[j]))
        if len(symbols) < 3:
            continue
        opens = start - window
        close = start - close_before
        races.append(Race(key=first_key + len(races), duration=duration, day=_new_york_date(start), symbols=symbols,
                          opens_ts=opens, close_ts=close, start_ts=start, end_ts=end, pct=pct,
                          inputs=[pricing.StockInput(s, minutes=_minutes(bars[s], opens)) for s in symbols],
                          late_inputs=[pricing.StockInput(s, minutes=_minutes(bars[s], close)) for s in symbols],
                          market=[pricing.StockInput(s, minutes=_minutes(bars[s], opens))
                                  for s in basket(list(bars), symbols)]))
    return races


def daily_races(bars: dict[str, Series], *, count: int, rng: random.Random, window: int, close_before: int,
                first_key: int = 0) -> list[Race]:
    """Full-day races: a session's open to its close, 3–8 stocks each."""
    table = session_table()
    days = sorted({int(t) for s in bars.values() for t in s.starts})
    days = [d for d in days if sum(1 for s in bars.values() if len(s.starts) and s.starts[0] < d) >= 3]
    races: list[Race] = []
    attempts = 0
    while len(races) < count and days and attempts < count * 20:
        attempts += 1
        start = rng.choice(days)
        session = table.index_of(start)
        end = table.closes[session] if session is not None else start + 23400
        symbols, pct = [], {}
        for symbol in rng.sample(sorted(bars), k=min(len(bars), rng.randint(3, 8))):
            s = bars[symbol]
            i = s.index_at_or_after(start)
            if i >= len(s.starts) or s.starts[i] != start or i < est.PRIOR_RETURNS_DAILY:
                continue
            symbols.append(symbol)
            pct[symbol] = _pct(float(s.opens[i]), float(s.closes[i]))
        if len(symbols) < 3:
            continue
        opens = start - window
        close = start - close_before
        inputs = [pricing.StockInput(s, days=_days(bars[s], start)) for s in symbols]
        races.append(Race(key=first_key + len(races), duration="1d", day=_new_york_date(start), symbols=symbols,
                          opens_ts=opens, close_ts=close, start_ts=start, end_ts=end, pct=pct, inputs=inputs,
                          late_inputs=inputs,
                          market=[pricing.StockInput(s, days=_days(bars[s], start)) for s in basket(list(bars), symbols)]))
    return races


def price(races: list[Race], *, margin: float, seasonal: bool = True) -> None:
    """Each race's card, as bet publication builds it (apps.bets.services._card_build)."""
    for race in races:
        race.card = pricing.build_card(race_seed=race.key, duration=race.duration, opens_ts=race.opens_ts,
                                       close_ts=race.close_ts, start_ts=race.start_ts, end_ts=race.end_ts,
                                       stocks=race.inputs, seasonal=seasonal, margin=margin, market=race.market)


# --------------------------------------------------------------------------- statistics


@dataclass
class Tally:
    """Stakes and payouts of one strategy, by cluster (the race's New York day)."""

    stake: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    paid: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    bets: int = 0
    hits: int = 0

    def add(self, day: str, stake: float, payout: float) -> None:
        self.stake[day] += stake
        self.paid[day] += payout
        self.bets += 1
        self.hits += payout > 0

    def summary(self) -> dict:
        return ratio_ci(self.paid, self.stake) | {"hit_rate": self.hits / self.bets if self.bets else 0.0,
                                                 "bets": self.bets}


def ratio_ci(paid: dict[str, float], stake: dict[str, float], z: float = 1.96) -> dict:
    """Mean return per point staked with its 95 % confidence interval, clustered by day.

    The ratio estimator R = Σ paid / Σ staked, with the cluster-robust (sandwich) variance
    G/(G−1) · Σ_c (paid_c − R·stake_c)² / (Σ staked)².
    """
    days = [d for d in stake if stake[d] > 0]
    total = sum(stake[d] for d in days)
    if not days or total <= 0:
        return {"mean": 0.0, "ci_low": 0.0, "ci_high": 0.0}
    r = sum(paid[d] for d in days) / total
    g = len(days)
    var = sum((paid[d] - r * stake[d]) ** 2 for d in days) / total ** 2 * (g / (g - 1) if g > 1 else math.inf)
    se = math.sqrt(var) if math.isfinite(var) else math.inf
    return {"mean": r, "ci_low": r - z * se, "ci_high": r + z * se}


# --------------------------------------------------------------------------- strategies


@dataclass(frozen=True)
class Pick:
    """One bet a strategy places (symbols by name, bounds in %)."""

    kind: str
    stake: int
    symbol: str = ""
    low: float | None = None
    high: float | None = None
    podium: tuple[str, ...] | None = None


def _half_down(value: float) -> float:
    return math.floor(value * 1000) / 1000


def _lane_of_max(values: list[float]) -> int:
    return max(range(len(values)), key=lambda i: (values[i], -i))


def _lane_of_min(values: list[float]) -> int:
    return min(range(len(values)), key=lambda i: (values[i], i))


def _narrowest(race: Race, card: dict, lane: int) -> Pick:
    """The narrowest bracket the rules allow on the stock, centred on 0."""
    half = math.ceil(card["min_width"][lane] * 1000 / 2) / 1000
    return Pick("bracket", STAKE, symbol=race.symbols[lane], low=-half, high=half)


def _momentum(race: Race, late: bool) -> list[float]:
    inputs = race.late_inputs if late and race.late_inputs else race.inputs
    out = []
    for s in inputs:
        m = est.momentum_pct(duration=race.duration, minutes=s.minutes, days=s.days)
        out.append(0.0 if m is None else m)
    return out


def _winner_hedge(race: Race, card: dict) -> list[Pick]:
    """A winner bet on every stock, stakes ∝ 1/odds (100 points in all): a sure winner every race."""
    from apps.bets.pricing import winner_odds

    inverse = [1 / float(winner_odds(card, lane)) for lane in range(len(race.symbols))]
    total = sum(inverse)
    return [Pick("winner", max(1, round(STAKE * w / total)), symbol=s) for s, w in zip(race.symbols, inverse)]


def _widest(race: Race, card: dict, rng: random.Random, max_probability: float) -> list[Pick]:
    lane = rng.randrange(len(race.symbols))
    half = _half_down(pricing.widest_bracket_around(card, lane, pricing.max_chance(card, "bracket", max_probability)
                                                   * (1 - 1e-6)))
    return [Pick("bracket", STAKE, symbol=race.symbols[lane], low=-half, high=half)] if half >= 0.025 else []


def strategies(max_probability: float):
    """(name, pick function(race, card, rng, late) -> picks) of every strategy the backtest plays."""
    return [
        ("winner favourite", lambda r, c, g, late: [Pick("winner", STAKE, symbol=r.symbols[_lane_of_max(c["p"])])]),
        ("winner underdog", lambda r, c, g, late: [Pick("winner", STAKE, symbol=r.symbols[_lane_of_min(c["p"])])]),
        ("winner random", lambda r, c, g, late: [Pick("winner", STAKE, symbol=g.choice(r.symbols))]),
        ("winner most volatile", lambda r, c, g, late: [Pick("winner", STAKE,
                                                             symbol=r.symbols[_lane_of_max(c["sigma"])])]),
        ("winner every stock ∝ 1/odds", lambda r, c, g, late: _winner_hedge(r, c)),
        ("bracket widest allowed around 0", lambda r, c, g, late: _widest(r, c, g, max_probability)),
        ("bracket ±1σ", lambda r, c, g, late: [
            Pick("bracket", STAKE, symbol=r.symbols[lane], low=-_half_down(c["sigma"][lane]),
                 high=_half_down(c["sigma"][lane])) for lane in [g.randrange(len(r.symbols))]]),
        ("bracket narrowest around 0", lambda r, c, g, late: [_narrowest(r, c, g.randrange(len(r.symbols)))]),
        ("bracket narrowest on the calmest stock", lambda r, c, g, late: [_narrowest(r, c, _lane_of_min(c["sigma"]))]),
        ("podium random", lambda r, c, g, late: [Pick("podium", STAKE, podium=tuple(g.sample(r.symbols, 3)))]),
        ("podium by momentum", lambda r, c, g, late: [Pick("podium", STAKE, podium=tuple(
            s for _, s in sorted(zip(_momentum(r, late), r.symbols), key=lambda t: (-t[0], r.symbols.index(t[1])))[:3]))]),
    ]


TIMINGS = (("best timing", False), ("worst timing", True))
STREAKS = (("no streak", 0), ("best streak", scoring.STREAK_MAX_STEPS))


@dataclass
class Outcome:
    """The bets one strategy placed at one timing: what scoring needs, before the per-variant factors."""

    rows: list = field(default_factory=list)  # (day, BetInput, RaceResult-without-participants) per bet
    refused: int = 0


def play(races: list[Race], *, seed: int = 0) -> dict[tuple[str, str], Outcome]:
    """Every strategy at both timings on every race: quoted and refused by bet placement's rules."""
    from django.conf import settings

    from apps.bets import errors
    from apps.bets.services import quote_bet
    from apps.bets.spec import bet_spec

    rng = random.Random(seed)
    chosen = strategies(settings.BET_MAX_WIN_PROBABILITY)
    out: dict[tuple[str, str], Outcome] = defaultdict(Outcome)
    for race in races:
        card = race.card
        order = race.order
        for timing_name, late in TIMINGS:
            now = card["close"] - 1e-3 if late else card["opens"]
            for name, pick in chosen:
                for p in pick(race, card, rng, late):
                    try:
                        spec = bet_spec(kind=p.kind, stake=p.stake, symbol=p.symbol or None, low_pct=p.low,
                                        high_pct=p.high, symbols=list(p.podium) if p.podium else None)
                        quote = quote_bet(card, spec, now)
                    except errors.BetRefused:
                        out[(name, timing_name)].refused += 1
                        continue
                    bet = scoring.BetInput(kind=spec.kind, stake=spec.stake, odds=float(quote.odds),
                                           symbol=spec.symbol,
                                           low_pct=None if spec.low_pct is None else float(spec.low_pct),
                                           high_pct=None if spec.high_pct is None else float(spec.high_pct),
                                           podium=spec.podium, timing=quote.timing)
                    out[(name, timing_name)].rows.append((race.day, bet, race.pct, order,
                                                          quote.potential_payout(spec.stake, spec.kind)))
    return out


def summarise(outcomes: dict[tuple[str, str], Outcome], names: list[str]) -> list[dict]:
    """Mean return per point staked (95 % CI clustered by day) and hit rate, per strategy variant."""
    table = []
    for name in names:
        for timing_name, _ in TIMINGS:
            outcome = outcomes.get((name, timing_name), Outcome())
            for players in PLAYER_COUNTS:
                for streak_name, streak in STREAKS:
                    tally = Tally()
                    for day, bet, pct, order, _most in outcome.rows:
                        result = scoring.RaceResult(pct=pct, order=order, participants=players, window_seconds=0)
                        payout, _ = scoring.bet_score(replace(bet, streak=streak), result)
                        tally.add(day, bet.stake, payout)
                    table.append({"name": f"{name} · {timing_name} · {players:,} players · {streak_name}",
                                  **tally.summary()})
    return table


def momentum_slope(races: list[Race]) -> dict:
    """Does a stock's recent move predict its move in the race? The slope of the race's % changes on
    the momentum the card shows, both taken relative to the race's mean, with a 95 % CI by day."""
    xs: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for race in races:
        momentum = [0.0 if m is None else m for m in race.card["momentum"]]
        sigma = race.card["sigma"]
        changes = [race.pct[s] for s in race.symbols]
        mx, mc = sum(momentum) / len(momentum), sum(changes) / len(changes)
        for m, c, sd in zip(momentum, changes, sigma):
            xs[race.day].append(((m - mx) / sd, (c - mc) / sd))  # in units of the stock's own spread
    pairs = [p for v in xs.values() for p in v]
    sxx = sum(x * x for x, _ in pairs)
    if not pairs or sxx == 0:
        return {"slope": 0.0, "ci_low": 0.0, "ci_high": 0.0, "n": 0}
    slope = sum(x * y for x, y in pairs) / sxx
    g = len(xs)
    var = sum(sum(x * (y - slope * x) for x, y in v) ** 2 for v in xs.values()) / sxx ** 2 * g / max(1, g - 1)
    se = math.sqrt(var)
    return {"slope": slope, "ci_low": slope - 1.96 * se, "ci_high": slope + 1.96 * se, "n": len(pairs)}


def run(*, bars: list[Path] | None = None, daily: list[Path] | None = None, races: int = 12_000, seed: int = 0,
        label: str = "end", tz: ZoneInfo = NEW_YORK) -> dict:
    """Build ``races`` races from the files (a quarter each of 5m, 15m and 1h from one-minute bars
    and full days from daily bars), price, play and score them."""
    from django.conf import settings

    default_bars, default_daily = default_files()
    intraday = load(default_bars if bars is None else bars, tz=tz, label=label, want="1m")
    days = load(default_daily if daily is None else daily, tz=tz, label=label, want="1d")
    rng = random.Random(seed)
    window = settings.RACE_BETTING_WINDOW_SECONDS
    close_before = settings.BET_CLOSE_BEFORE_START_SECONDS or REAL_FEED_CLOSE_SECONDS
    n_intraday = races * 3 // 4 if days else races
    built = intraday_races(intraday, count=n_intraday if intraday else 0, rng=rng, window=window,
                           close_before=close_before)
    built += daily_races(days, count=races - len(built), rng=rng, window=window, close_before=close_before,
                         first_key=len(built))
    price(built, margin=settings.BET_HOUSE_MARGIN)
    names = [name for name, _ in strategies(settings.BET_MAX_WIN_PROBABILITY)]
    outcomes = play(built, seed=seed)
    return {"strategies": summarise(outcomes, names), "races": len(built), "race_list": built,
            "outcomes": outcomes}


# --------------------------------------------------------------------------- calibration


def _clustered_mean(values: dict[str, list[float]]) -> tuple[float, float, int]:
    """(mean, cluster-robust standard error, n) of values grouped by day."""
    n = sum(len(v) for v in values.values())
    if n == 0:
        return 0.0, math.inf, 0
    mean = sum(sum(v) for v in values.values()) / n
    g = len(values)
    if g < 2:
        return mean, math.inf, n
    var = sum(sum(x - mean for x in v) ** 2 for v in values.values()) / n ** 2 * g / (g - 1)
    return mean, math.sqrt(var), n


def decile_table(rows: list[tuple[str, float, float]], bins: int = 10, z: float = 1.96) -> list[dict]:
    """Calibration by decile of predicted probability. ``rows``: (day, predicted, observed 0/1).

    Each decile reports the mean prediction, the observed rate and an interval of the gap
    (observed − predicted), clustered by day (95 % with the default ``z``); ``ok`` when it contains 0.
    """
    rows = sorted(rows, key=lambda r: r[1])
    out = []
    for b in range(bins):
        part = rows[len(rows) * b // bins: len(rows) * (b + 1) // bins]
        if not part:
            continue
        gaps: dict[str, list[float]] = defaultdict(list)
        for day, p, o in part:
            gaps[day].append(o - p)
        gap, se, n = _clustered_mean(gaps)
        predicted = sum(p for _, p, _ in part) / n
        out.append({"decile": b + 1, "predicted": predicted, "observed": predicted + gap, "n": n,
                    "gap_low": gap - z * se, "gap_high": gap + z * se, "ok": gap - z * se <= 0.0 <= gap + z * se})
    return out


def calibration(races: list[Race], *, seed: int = 0, brackets_per_stock: int = 3,
                z: float = 1.96) -> dict[str, list[dict]]:
    """Winner probabilities and bracket chances against what happened, by decile.

    The brackets are drawn around each stock the way players draw them: centred anywhere within its
    spread, from the narrowest allowed to three σ wide."""
    rng = random.Random(seed)
    winner, bracket = [], []
    for race in races:
        card = race.card
        first = race.order[0]
        for lane, symbol in enumerate(race.symbols):
            winner.append((race.day, card["p"][lane], 1.0 if symbol == first else 0.0))
            sigma = card["sigma"][lane]
            for _ in range(brackets_per_stock):
                centre = rng.gauss(0.0, sigma)
                width = max(card["min_width"][lane], sigma * rng.uniform(0.1, 3.0))
                low, high = round(centre - width / 2, 3), round(centre + width / 2, 3)
                p = pricing.bracket_probability(card, lane, low, high)
                bracket.append((race.day, p, 1.0 if low <= race.pct[symbol] <= high else 0.0))
    return {"winner": decile_table(winner, z=z), "bracket": decile_table(bracket, z=z)}
