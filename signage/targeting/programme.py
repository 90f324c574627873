"""What the loop asks for the next ad: the catalog, the rules in force and the operator's policy.

The rules engine decides when a valid rule table is loaded; without one (no file, or never a
valid one) the house rotation plays, with restricted ads held back whenever a minor may be present.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from signage.domain import AudienceSnapshot, Catalog, Decision, PlayRecord
from signage.settings import PolicySettings
from signage.targeting.decide import decide
from signage.targeting.rotation import house_rotation, is_restricted
from signage.targeting.ruleset import RuleSet


class Programme:
    def __init__(
        self,
        catalog: Catalog | Callable[[], Catalog],
        policy: PolicySettings,
        tz: ZoneInfo,
        rng: random.Random,
        rules: Callable[[], RuleSet | None] = lambda: None,
    ) -> None:
        # A fixed catalog, or a source such as CatalogWatcher.current that may swap in a new one.
        self.catalog_source: Callable[[], Catalog] = catalog if callable(catalog) else (lambda: catalog)
        self.policy = policy
        self.tz = tz
        self.rng = rng
        self.rules = rules
        self._source: Catalog | None = None  # the catalog _playable was built from (kept alive)
        self._excluded: frozenset[str] = frozenset()
        self._playable = Catalog(ads=())

    def _playable_catalog(self, exclude: frozenset[str]) -> Catalog:
        # Rebuilt only when the catalog or the set of failed ads changes, so the rules engine's
        # indexes (keyed by the catalog object) stay warm.
        catalog = self.catalog_source()
        if catalog is not self._source or exclude != self._excluded:
            self._source, self._excluded = catalog, exclude
            ads = tuple(ad for ad in catalog.ads if ad.ad_id not in exclude)
            self._playable = replace(catalog, ads=ads) if exclude else catalog
        return self._playable

    def decide(
        self,
        audience: AudienceSnapshot,
        history: Sequence[PlayRecord],
        now_utc: datetime,
        exclude: frozenset[str],
    ) -> Decision:
        catalog = self._playable_catalog(exclude)
        rules = self.rules()
        if rules is not None:
            return decide(audience, catalog, rules, history, now_utc, self.rng, self.policy)
        ads = catalog.ads
        if audience.possible_minor_present:
            ads = tuple(ad for ad in ads if not is_restricted(ad, self.policy.restricted_subjects))
        return house_rotation(ads, now_utc.astimezone(self.tz), history, self.rng)
