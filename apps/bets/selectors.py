"""Bet reads: a race's published winner odds and a player's bets."""
from __future__ import annotations

from decimal import Decimal

from django.db.models import QuerySet

from apps.bets.models import Bet
from apps.bets.odds_cache import ODDS_CACHE_KEY, card_parse, redis_client


def race_odds(race) -> dict[str, Decimal]:
    """The winner odds of a race (a Race or its id), {symbol: odds}, as bets on it will fix them.

    Read from Redis (``bets:odds:{race_id}``, one GET; see apps.bets.odds_cache); on a miss, from PostgreSQL
    (bets.RaceOdds), re-filling the cache; a race without odds yet gets them published now
    (services.race_odds_publish, which the lifecycle also calls when a race opens).
    Raises Race.DoesNotExist for an unknown race.
    """
    from apps.bets.services import race_odds_publish

    race_id = getattr(race, "pk", race)
    card = card_parse(redis_client().get(ODDS_CACHE_KEY.format(race_id)))
    if card is not None:
        return card[1]
    return race_odds_publish(race_id=race_id)


def bets_of_user(*, user_id: int, race_id: int | None = None) -> QuerySet[Bet]:
    """A player's bets, newest first (served by the bet_user_recent index)."""
    bets = Bet.objects.filter(user_id=user_id).order_by("-id")
    if race_id is not None:
        bets = bets.filter(race_id=race_id)
    return bets
