"""The house rotation: a weighted rotation over the ads valid today.

It is the player's default programme and the rules engine's fallback when no rule matches. Pure:
time, history and randomness come in as arguments.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from datetime import datetime

from signage.domain import Ad, Decision, PlayRecord

HOUSE_RULE = "house-rotation"
STANDBY_RULE = "standby"


def is_restricted(ad: Ad, restricted_subjects: Iterable[str]) -> bool:
    """An ad is restricted when flagged so, or when any of its subjects is a restricted subject."""
    return ad.restricted or bool(set(ad.subjects) & set(restricted_subjects))


def house_rotation(
    ads: Sequence[Ad], now_local: datetime, history: Sequence[PlayRecord], rng: random.Random
) -> Decision:
    """Pick by weight among the ads valid on ``now_local``'s date, never the last ad twice in a row
    when another is available. No valid ad: a standby decision."""
    today = now_local.date()
    valid = [ad for ad in ads if ad.is_valid_on(today)]
    if not valid:
        reason = "no ad in the catalog is valid today" if ads else "the catalog has no playable ad"
        return Decision(ad=None, rule=STANDBY_RULE, reason=reason)
    last = history[-1].ad_id if history else None
    candidates = [ad for ad in valid if ad.ad_id != last] or valid
    chosen = rng.choices(candidates, weights=[ad.weight for ad in candidates], k=1)[0]
    others = [ad for ad in candidates if ad is not chosen]
    runner_up = max(others, key=lambda ad: ad.weight) if others else None
    total = sum(ad.weight for ad in candidates)
    reason = (
        f"house rotation: {len(candidates)} ad(s) eligible today, "
        f"{chosen.ad_id!r} drawn with weight {chosen.weight:g} of {total:g}"
    )
    if last is not None and len(candidates) < len(valid):
        reason += f"; {last!r} just played"
    return Decision(ad=chosen, rule=HOUSE_RULE, reason=reason, runner_up=runner_up)
