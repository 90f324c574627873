"""The catalog seen through one rule set: each rule's ad pool, resolved once and cached by date.

A pool is the ads a rule may play on one store-local date, split by whether restricted ads are
allowed, with cumulative weights so that a weighted draw is one bisect instead of a scan.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from signage.domain import Ad, Catalog
from signage.targeting.blocks import BlockCache
from signage.targeting.model import Fallback, PlaySpec
from signage.targeting.rotation import is_restricted
from signage.targeting.ruleset import CompiledRule, Tier


@dataclass(frozen=True)
class Pool:
    ads: tuple[Ad, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def of(cls, ads: Iterable[Ad]) -> Pool:
        chosen = tuple(ad for ad in ads if ad.weight > 0)
        total = 0.0
        cumulative = []
        for ad in chosen:
            total += ad.weight
            cumulative.append(total)
        return cls(chosen, tuple(cumulative))

    @property
    def total(self) -> float:
        return self.cumulative[-1] if self.cumulative else 0.0

    def draw(self, rng: random.Random, ok: Callable[[Ad], bool], tries: int = 12) -> Ad | None:
        """A weighted draw among the ads for which ``ok`` holds, or None when none does.

        Rejection sampling gives exactly the weighted choice restricted to ``ok`` ads; after a
        few rejections (many ads capped) it falls back to scanning the pool once.
        """
        if not self.ads:
            return None
        total = self.cumulative[-1]
        rejected: set[int] = set()
        for _ in range(tries):
            i = min(bisect.bisect_right(self.cumulative, rng.random() * total), len(self.ads) - 1)
            if i in rejected:
                continue
            if ok(self.ads[i]):
                return self.ads[i]
            rejected.add(i)
            if len(rejected) == len(self.ads):
                return None
        eligible = [ad for j, ad in enumerate(self.ads) if j not in rejected and ok(ad)]
        if not eligible:
            return None
        return rng.choices(eligible, weights=[ad.weight for ad in eligible], k=1)[0]


class CatalogIndex:
    """Ads by id, campaign and subject, plus per-(rule, date) pools; built once per catalog."""

    def __init__(self, catalog: Catalog, restricted_subjects: tuple[str, ...]) -> None:
        self.catalog = catalog
        self.restricted_subjects = restricted_subjects
        self.by_id: dict[str, Ad] = {}
        self.by_campaign: dict[str, list[Ad]] = {}
        self.by_subject: dict[str, list[Ad]] = {}
        self.restricted: set[str] = set()
        self.position: dict[str, int] = {}
        for i, ad in enumerate(catalog.ads):
            self.position.setdefault(ad.ad_id, i)
            self.by_id.setdefault(ad.ad_id, ad)
            self.by_campaign.setdefault(ad.campaign, []).append(ad)
            for subject in ad.subjects:
                self.by_subject.setdefault(subject, []).append(ad)
            if is_restricted(ad, restricted_subjects):
                self.restricted.add(ad.ad_id)
        self._resolved: dict[int, tuple[object, tuple[Ad, ...]]] = {}
        self._pools: dict[tuple[tuple[tuple[str, ...], ...] | None, date, bool], Pool] = {}
        self._tiers: dict[tuple[int, bool], tuple[Tier, date, TierPools]] = {}
        self.blocks = BlockCache()  # cap and gap verdicts across decisions (signage.targeting.blocks)

    @property
    def cache_entries(self) -> int:
        """How many pools are cached (a decision that grows this paid for building one)."""
        return len(self._pools) + len(self._tiers)

    def resolve(self, spec: PlaySpec | Fallback) -> tuple[Ad, ...]:
        """Every catalog ad the spec names by id, campaign or subject, in catalog order."""
        hit = self._resolved.get(id(spec))
        if hit is not None and hit[0] is spec:
            return hit[1]
        wanted: dict[str, Ad] = {}
        for ad_id in spec.ads:
            if ad_id in self.by_id:
                wanted[ad_id] = self.by_id[ad_id]
        for campaign in spec.campaigns:
            for ad in self.by_campaign.get(campaign, ()):
                wanted[ad.ad_id] = ad
        for subject in spec.subjects:
            for ad in self.by_subject.get(subject, ()):
                wanted[ad.ad_id] = ad
        resolved = tuple(sorted(wanted.values(), key=lambda ad: self.position[ad.ad_id]))
        self._resolved[id(spec)] = (spec, resolved)
        return resolved

    def pool(self, spec: PlaySpec | Fallback | None, day: date, allow_restricted: bool) -> Pool:
        """Ads of ``spec`` (None: every ad) valid on ``day``, restricted ones only when allowed."""
        # Keyed by what the spec names: rules that name the same ads share one pool, built once.
        names = None if spec is None else (spec.ads, spec.campaigns, spec.subjects)
        key = (names, day, allow_restricted)
        hit = self._pools.get(key)
        if hit is not None:
            return hit
        ads = self.catalog.ads if spec is None else self.resolve(spec)
        pool = Pool.of(
            ad for ad in ads if ad.is_valid_on(day) and (allow_restricted or ad.ad_id not in self.restricted)
        )
        if len(self._pools) > 65536:  # dates roll over; keep memory bounded
            self._pools.clear()
        self._pools[key] = pool
        return pool

    def tier_pools(self, tier: Tier, day: date, allow_restricted: bool) -> TierPools:
        """The tier's rules that have an ad to offer that day, each with its pool (audience not checked)."""
        key = (id(tier), allow_restricted)
        hit = self._tiers.get(key)
        if hit is not None and hit[0] is tier and hit[1] == day:
            return hit[2]
        entries = []
        for rule in tier.rules:
            pool = self.pool(rule.play, day, allow_restricted)
            if pool.ads:
                entries.append((rule, pool))
        result = TierPools.of(tier.tier, entries)
        if len(self._tiers) > 16384:
            self._tiers.clear()
        self._tiers[key] = (tier, day, result)
        return result


@dataclass(frozen=True)
class TierPools:
    """One tier's rules with an ad that day, and their cumulative weights for a weighted draw."""

    tier: int
    entries: tuple[tuple[CompiledRule, Pool], ...]
    cumulative: tuple[float, ...]

    @classmethod
    def of(cls, tier: int, entries: list[tuple[CompiledRule, Pool]]) -> TierPools:
        total, cumulative = 0.0, []
        for rule, _ in entries:
            total += rule.weight
            cumulative.append(total)
        return cls(tier, tuple(entries), tuple(cumulative))
