"""The badge catalog: every badge, its rule and its reward, defined here and synced into the
``badges_badge`` table (data migration 0002, ``manage.py sync_badges``, and before every
evaluation so a badge added here is live at the next settled race).

Each rule is a SQL fragment returning the ``user_id`` of the players who qualify *in one
completed race*, over the common expressions of apps.badges.rules.CANDIDATES_SQL:

- ``cur``: the race (id, duration, ``at`` = when it settled);
- ``played``: its settled (won or lost) bets of real players (house accounts and
  shadow-restricted players are left out: they earn nothing that counts), with ``correct``: the
  bet was fully right (apps.races.outcomes; a partial podium is ``won``, it paid, but not correct);
- ``winner_streak``: (user_id, streak) — the player's streak of races with every winner pick
  right, ending at this race, as settlement stored it (docs/SCORING.md); only players whose
  winner bets here were all right have one;
- ``races_played``: (user_id, n) — completed races with a settled bet up to this one.

Rules look only at the race and what came before it, so re-evaluating an old race (``manage.py
award_badges``) gives the same answer it gave when the race settled.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Thresholds, kept beside the rules that use them and quoted in the descriptions.
SHARPSHOOTER_MAX_WIDTH_PCT = "0.5"  # a correct bracket at most this many points wide
UNDERDOG_MIN_ODDS = "5.0"           # a correct winner pick at these odds or more
JACKPOT_MIN_PAYOUT = 2500           # one bet paying at least this many points
TOP_OF_FIELD_MIN_BEHIND = 2         # first on a race's board (ties share it) with this many players behind


@dataclass(frozen=True)
class BadgeSpec:
    code: str
    name: str
    description: str
    icon: str
    tier: str
    reward: int
    rule: str
    params: dict = field(default_factory=dict)


CATALOG: tuple[BadgeSpec, ...] = (
    BadgeSpec("first_bet", "Off the Blocks", "Played your first race: a bet settled.", "🏁", "common", 25,
              "SELECT user_id FROM played"),
    BadgeSpec("first_win", "First Win", "Called your first bet right.", "🏆", "common", 50,
              "SELECT user_id FROM played WHERE correct"),
    BadgeSpec("hat_trick", "Hat Trick", "Picked the winner 3 races in a row.", "🔥", "rare", 100,
              "SELECT user_id FROM winner_streak WHERE streak >= 3"),
    BadgeSpec("on_fire", "On Fire", "Picked the winner 5 races in a row.", "☄️", "epic", 250,
              "SELECT user_id FROM winner_streak WHERE streak >= 5"),
    BadgeSpec("underdog", "Underdog", f"Picked the winner at odds of {UNDERDOG_MIN_ODDS} or more.", "🐎", "rare",
              100, "SELECT user_id FROM played WHERE kind = 'winner' AND status = 'won' "
                   "AND odds >= %(underdog_min_odds)s::numeric",
              {"underdog_min_odds": UNDERDOG_MIN_ODDS}),
    BadgeSpec("sharpshooter", "Sharpshooter",
              f"Called a stock's move with a bracket {SHARPSHOOTER_MAX_WIDTH_PCT} points wide or narrower.", "🎯",
              "epic", 200,
              "SELECT user_id FROM played WHERE kind = 'bracket' AND status = 'won' "
              "AND high_pct - low_pct <= %(sharpshooter_width)s::numeric",
              {"sharpshooter_width": SHARPSHOOTER_MAX_WIDTH_PCT}),
    BadgeSpec("photo_finish", "Photo Finish", "Called the exact podium: first, second and third in order.", "📸",
              "epic", 250, "SELECT user_id FROM played WHERE kind = 'podium' AND correct"),
    BadgeSpec("top_of_field", "Top of the Field",
              f"Topped a race's leaderboard ahead of {TOP_OF_FIELD_MIN_BEHIND} or more players.", "🥇", "rare", 100,
              "SELECT s.user_id FROM races_racestanding s WHERE s.race_id = (SELECT id FROM cur) AND s.rank = 1"
              " AND s.points_won > 0 AND s.user_id IN (SELECT user_id FROM played)"
              " AND (SELECT COUNT(*) FROM races_racestanding o"
              "      WHERE o.race_id = s.race_id AND o.points_won < s.points_won) >= %(top_min_behind)s",
              {"top_min_behind": TOP_OF_FIELD_MIN_BEHIND}),
    BadgeSpec("marathon", "Marathon Finisher", "Played a full trading-day race to the end.", "🗓️", "rare", 100,
              "SELECT user_id FROM played WHERE (SELECT duration FROM cur) = '1d'"),
    BadgeSpec("regular", "Regular", "Played 10 races.", "🎟️", "common", 50,
              "SELECT user_id FROM races_played WHERE n >= 10"),
    BadgeSpec("veteran", "Veteran", "Played 50 races.", "🎖️", "epic", 300,
              "SELECT user_id FROM races_played WHERE n >= 50"),
    BadgeSpec("jackpot", "Jackpot", f"One bet paid {JACKPOT_MIN_PAYOUT:,} points or more.", "💰", "legendary", 500,
              "SELECT user_id FROM played WHERE payout >= %(jackpot_min)s", {"jackpot_min": JACKPOT_MIN_PAYOUT}),
)

BY_CODE = {spec.code: spec for spec in CATALOG}
assert len(BY_CODE) == len(CATALOG), "badge codes are unique"
TIER_RANK = {"common": 0, "rare": 1, "epic": 2, "legendary": 3}  # rarer sorts first in the showcase
