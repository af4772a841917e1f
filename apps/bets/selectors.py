"""Bet reads: a race's published prices and a player's bets."""
from __future__ import annotations

from decimal import Decimal

from django.db.models import QuerySet

from apps.bets import pricing
from apps.bets.models import Bet, RacePricing
from apps.bets.odds_cache import ODDS_CACHE_KEY, card_parse, card_store, redis_client


def race_card(race) -> dict | None:
    """The pricing card of a race (a Race or its id), or None before its betting opens.

    Read from Redis (``bets:odds:{race_id}``, one GET; see apps.bets.odds_cache); on a miss from
    PostgreSQL (bets.RacePricing), re-filling the cache. Never computes prices: they are published
    once, when betting opens (services.race_odds_publish, called by the lifecycle), so viewing a
    race cannot fix them early.
    """
    race_id = getattr(race, "pk", race)
    card = card_parse(redis_client().get(ODDS_CACHE_KEY.format(race_id)))
    if card is not None:
        return card
    card = RacePricing.objects.filter(race_id=race_id).values_list("card", flat=True).first()
    if card is not None:
        card_store(race_id, card)
    return card


def race_odds(race) -> dict[str, Decimal] | None:
    """The published winner odds of a race, {symbol: odds} in lane order, or None before betting opens."""
    card = race_card(race)
    if card is None:
        return None
    return {symbol: pricing.winner_odds(card, lane) for lane, symbol in enumerate(card["symbols"])}


def race_chances(race) -> dict[str, float] | None:
    """The model's chance of each stock finishing first, {symbol: probability}, or None before betting opens."""
    card = race_card(race)
    if card is None:
        return None
    return dict(zip(card["symbols"], card["p"]))


def bets_of_user(*, user_id: int, race_id: int | None = None) -> QuerySet[Bet]:
    """A player's bets, newest first (served by the bet_user_recent index)."""
    bets = Bet.objects.filter(user_id=user_id).order_by("-id")
    if race_id is not None:
        bets = bets.filter(race_id=race_id)
    return bets
