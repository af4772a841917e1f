"""House bettors: accounts marked User.is_house that keep generated races lively.

They are created and funded by ``house_accounts_ensure`` (through the ledger, kind=adjustment),
place their bets through apps.bets.services.bet_place like everyone else, and never appear on
a leaderboard. Their behaviour follows simple, realistic distributions:

- kind: winner 60 %, bracket 25 %, podium 15 %;
- stake: log-normal (median 25 points, σ 0.9), rounded to 5, within the stake limits;
- picks: favourites more often than underdogs (weighted by the implied chance 1/odds);
  bracket centres around a flat result with the race duration's typical spread;
- timing: bets cluster just after the betting window opens and just before the start.
"""
from __future__ import annotations

import logging
import math
import random
from datetime import datetime, timedelta, timezone

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from apps.core.redis import get_redis, redis_now
from apps.points.models import LedgerEntry
from apps.points import ledger
from apps.races.models import Race

log = logging.getLogger(__name__)
KIND_WEIGHTS = (("winner", 0.60), ("bracket", 0.25), ("podium", 0.15))
STAKE_MEDIAN, STAKE_SIGMA = 25.0, 0.9
NEAR_OPEN, NEAR_START = 0.40, 0.40  # the rest is spread evenly over the window


def house_accounts_ensure(*, count: int | None = None, now: datetime | None = None) -> list[int]:
    """Create the house accounts that are missing and top up any below half the bankroll."""
    count = settings.RACE_HOUSE_BETTORS if count is None else count
    bankroll = settings.RACE_HOUSE_BANKROLL
    now = now or redis_now()
    User = get_user_model()
    ids = []
    for i in range(1, count + 1):
        user, created = User.objects.get_or_create(username=f"house-{i:02d}", defaults={"is_house": True})
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        elif not user.is_house:
            continue  # a player took the name first: never turn a player into the house
        ledger.account_open(user_id=user.pk)
        if bankroll:
            ledger.top_up(user_id=user.pk, to=bankroll, below=max(1, bankroll // 2), kind=LedgerEntry.Kind.ADJUSTMENT,
                          key=f"house-topup:{user.pk}:{int(now.timestamp())}", memo="House bankroll")
        ids.append(user.pk)
    return ids


def bet_offsets(*, count: int, window_seconds: float, rng: random.Random) -> list[float]:
    """Seconds after the betting window opens, clustered near the open and near the start."""
    if window_seconds <= 1:
        return [0.0] * count
    latest = window_seconds - 1.0
    offsets = []
    for _ in range(count):
        u = rng.random()
        if u < NEAR_OPEN:
            offset = rng.expovariate(1 / (0.08 * window_seconds))
        elif u < NEAR_OPEN + NEAR_START:
            offset = latest - rng.expovariate(1 / (0.06 * window_seconds))
        else:
            offset = rng.uniform(0, latest)
        offsets.append(min(latest, max(0.0, offset)))
    return sorted(offsets)


def bet_stake(rng: random.Random) -> int:
    stake = rng.lognormvariate(math.log(STAKE_MEDIAN), STAKE_SIGMA)
    stake = int(round(stake / 5) * 5)
    return max(settings.BET_MIN_STAKE, min(settings.BET_MAX_STAKE_PER_RACE, stake))


def _weighted_order(rng: random.Random, weights: dict[str, float], k: int) -> list[str]:
    pool = dict(weights)
    picked = []
    while pool and len(picked) < k:
        symbol = rng.choices(list(pool), weights=list(pool.values()))[0]
        picked.append(symbol)
        del pool[symbol]
    return picked


def bet_choice(*, rng: random.Random, odds: dict[str, float], duration: str,
               sigma: dict[str, float] | None = None) -> dict:
    """The kwargs of one house bet (kind, stake, picks); ``sigma``: each stock's spread over the race
    in % (the pricing card's), else the duration's typical spread."""
    from apps.bets.pricing_estimate import TYPICAL_SIGMA_PCT

    kind = rng.choices([k for k, _ in KIND_WEIGHTS], weights=[w for _, w in KIND_WEIGHTS])[0]
    chance = {s: 1 / o for s, o in sorted(odds.items())}
    bet = {"kind": kind, "stake": bet_stake(rng)}
    if kind == "winner":
        bet["symbol"] = _weighted_order(rng, chance, 1)[0]
    elif kind == "podium":
        bet["symbols"] = _weighted_order(rng, chance, 3)
    else:
        symbol = rng.choice(sorted(odds))
        spread = (sigma or {}).get(symbol) or TYPICAL_SIGMA_PCT.get(duration, 1.0)
        centre = rng.gauss(0, spread)
        width = max(0.05, spread * rng.choice((0.5, 1, 1, 2)))
        bet.update(symbol=symbol, low_pct=round(centre - width / 2, 2), high_pct=round(centre + width / 2, 2))
    return bet


def house_plan_bets(*, race_id: int, now: datetime | None = None) -> int:
    """When a generated race opens: enqueue its house bets with ETAs over the betting window."""
    race = Race.objects.filter(pk=race_id, state=Race.State.OPEN).first()
    if race is None or settings.RACE_HOUSE_BETS_PER_RACE <= 0:
        return 0
    users = house_accounts_ensure(now=now)
    if not users:
        return 0
    now = now or redis_now()
    rng = random.Random(race_id)
    planned = settings.RACE_HOUSE_BETS_PER_RACE
    count = max(1, rng.randint(planned // 2, planned + planned // 2))
    window = (race.starts_at - now).total_seconds()
    if window <= 1:
        return 0
    from apps.races.tasks import race_house_bet_task

    local_now = datetime.now(timezone.utc)
    for seq, offset in enumerate(bet_offsets(count=count, window_seconds=window, rng=rng)):
        user_id = users[rng.randrange(len(users))]
        race_house_bet_task.apply_async(args=[race_id, user_id, seq], eta=local_now + timedelta(seconds=offset))
    return count


def house_plan_bets_on_commit(race_id: int) -> None:
    transaction.on_commit(lambda: house_plan_bets(race_id=race_id))


def house_bet_place(*, race_id: int, user_id: int, seq: int):
    """Place house bet number ``seq`` of a race (idempotent: its key is house:{race}:{seq})."""
    from apps.bets.errors import BetRefused
    from apps.bets.pricing import winner_odds
    from apps.bets.services import bet_place, race_odds_publish

    user = get_user_model().objects.filter(pk=user_id, is_house=True).first()
    race = Race.objects.filter(pk=race_id).only("duration", "state").first()
    if user is None or race is None or race.state != Race.State.OPEN:
        return None
    rng = random.Random(f"{race_id}:{seq}")
    card = race_odds_publish(race_id=race_id)  # the race is open: its published prices (fixed now if need be)
    if card is None:
        return None
    odds = {s: float(winner_odds(card, lane)) for lane, s in enumerate(card["symbols"])}
    choice = bet_choice(rng=rng, odds=odds, duration=race.duration, sigma=dict(zip(card["symbols"], card["sigma"])))
    try:
        return bet_place(user=user, race_id=race_id, idempotency_key=f"house:{race_id}:{seq}", **choice)
    except BetRefused as exc:  # cooldown, stake cap, window closed: a house bettor just skips
        log.info("house bet %s on race %s skipped: %s", seq, race_id, exc)
        get_redis().incr("races:house:skipped")
        return None
