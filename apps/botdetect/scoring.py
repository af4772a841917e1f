"""Weights and thresholds: how signals add up to a suspicion score (docs/FAIRPLAY.md).

Each signal has a strength in [0, 1] and a weight (its points at full strength). Signals belong
to families — independent kinds of evidence; a family's points are capped, and a family
*counts* when it has at least FAMILY_MIN points. The score is the sum of the families' points.

- review threshold (FAIRPLAY_REVIEW_THRESHOLD, 40): the account enters the review queue;
- action threshold (FAIRPLAY_ACTION_THRESHOLD, 70) *and* at least two families that count: the
  account is shadow-restricted at once and queued.

No single signal reaches the action threshold (the largest weight is 50), and the identity
family (devices, addresses, sign-up bursts, account age) is one family however many of its
signals fire: a shared device or address never restricts anyone on its own.
"""
from __future__ import annotations

from dataclasses import dataclass, field

WEIGHTS = {
    "timing": 40,          # bets milliseconds after betting opened, or before it closed
    "regularity": 40,      # machine-regular intervals between bets
    "accuracy": 50,        # wins improbable given the odds taken
    "coordination": 45,    # the same bets as other accounts, within seconds, race after race
    "shared_device": 25,   # a device fingerprint shared with accounts on the same network
    "shared_address": 15,  # an address shared with many accounts
    "signup_burst": 40,    # created in a burst from one address or device
    "young_account": 10,   # a new account (counts only beside another signal)
    "client": 20,          # a scripted client: automation user agent, headers no browser sends
}
FAMILY = {
    "timing": "timing", "regularity": "regularity", "accuracy": "accuracy", "coordination": "coordination",
    "shared_device": "identity", "shared_address": "identity", "signup_burst": "identity",
    "young_account": "identity", "client": "client",
}
FAMILY_CAP = {"timing": 40, "regularity": 40, "accuracy": 50, "coordination": 45, "identity": 50, "client": 20}
FAMILY_MIN = 10.0
ACTION_KINDS = 2


@dataclass
class Signal:
    kind: str
    strength: float
    summary: str
    evidence: dict = field(default_factory=dict)

    @property
    def family(self) -> str:
        return FAMILY[self.kind]

    @property
    def points(self) -> float:
        return round(WEIGHTS[self.kind] * max(0.0, min(1.0, self.strength)), 1)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "family": self.family, "strength": round(self.strength, 3), "points": self.points,
                "summary": self.summary, "evidence": self.evidence}


@dataclass(frozen=True)
class Score:
    score: float
    families: dict[str, float]
    kinds: int  # families that count


def combine(signals: list[Signal]) -> Score:
    families: dict[str, float] = {}
    for signal in signals:
        if signal.points > 0:
            families[signal.family] = families.get(signal.family, 0.0) + signal.points
    families = {f: round(min(FAMILY_CAP[f], p), 1) for f, p in families.items()}
    return Score(score=round(sum(families.values()), 1), families=families,
                 kinds=sum(1 for p in families.values() if p >= FAMILY_MIN))


def ramp(value: float, zero: float, full: float) -> float:
    """0 at ``zero``, 1 at ``full`` (either order), linear between, clamped."""
    if full == zero:
        return 1.0 if value >= full else 0.0
    return max(0.0, min(1.0, (value - zero) / (full - zero)))
