"""Who counts: the one definition of an eligible player.

An eligible player is a real player: not a house account (apps.races.house) and not
shadow-restricted (apps.botdetect). Only eligible players appear on leaderboards and race
standings, win badges, and count toward a race's participants. Every query that needs the rule
takes it from here, as a Q for the ORM or a SQL condition for set-based statements.
"""
from __future__ import annotations

from django.db.models import Q


def eligible_q(prefix: str = "") -> Q:
    """The rule as a Q object; ``prefix`` reaches the user through a relation (``"user__"``)."""
    return Q(**{f"{prefix}is_house": False, f"{prefix}is_shadow_restricted": False})


def eligible_sql(alias: str = "u") -> str:
    """The rule as a SQL condition on ``accounts_user`` aliased ``alias``."""
    if not alias.isidentifier():
        raise ValueError(f"not a SQL alias: {alias!r}")
    return f"(NOT {alias}.is_house AND NOT {alias}.is_shadow_restricted)"
