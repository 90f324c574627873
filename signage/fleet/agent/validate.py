"""Would the player take this release? The same loaders, with this screen's settings.

An assembled slot is loaded exactly as the player's reloaders load ``current``: the catalog with
``signage.catalog.load_catalog`` (media probed), every ``rules/*.yaml`` with
``signage.targeting.holder.read_rules`` (this screen's time zone and emotion setting), and the rules
checked against that catalog (``signage.targeting.checker``; its findings are warnings, logged).
A structural error in either refuses the release; so does a catalog whose every ad is unplayable
here (the last good release is better than the standby slide).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from signage.catalog import load_catalog
from signage.fleet.protocol import CATALOG_PATH, RULES_DIR
from signage.reloader import describe_failure
from signage.settings import PolicySettings, Settings
from signage.targeting.checker import check_rules
from signage.targeting.holder import read_rules
from signage.yamlconf import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReleaseCheck:
    """What the player's loaders depend on in the settings."""

    tz: ZoneInfo
    estimate_emotion: bool = True
    default_image_s: float = 8.0
    policy: PolicySettings = field(default_factory=PolicySettings)

    @classmethod
    def from_settings(cls, settings: Settings) -> ReleaseCheck:
        return cls(
            settings.tz,
            settings.perception.estimate_emotion,
            settings.display.image_duration_s,
            settings.policy,
        )

    def problem(self, slot: Path) -> str | None:
        """Why the player would not play the release in ``slot`` (one sentence, release paths), or None."""
        catalog_path = slot / CATALOG_PATH
        try:
            catalog = load_catalog(catalog_path, probe=True, default_image_s=self.default_image_s)
        except ConfigError as exc:
            return _relative(describe_failure(exc, [catalog_path]), slot)
        inside = slot.resolve()
        for named in catalog.media_files:
            if not Path(named).resolve().is_relative_to(inside):
                return f"{CATALOG_PATH} names {named}, a file outside the release"
        if catalog.skipped and not catalog.ads:
            more = f" (and {len(catalog.skipped) - 1} more)" if len(catalog.skipped) > 1 else ""
            return _relative(f"no ad of {CATALOG_PATH} can be played here: {catalog.skipped[0]}{more}", slot)
        rule_files = sorted((slot / RULES_DIR).glob("*.yaml"))
        try:
            rules = read_rules(rule_files, self.tz, self.estimate_emotion)
        except ConfigError as exc:
            return _relative(describe_failure(exc, rule_files), slot)
        warnings = check_rules(rules, catalog, self.policy)
        if warnings:
            log.info(
                "fleet release rules: %d warning(s), the first: %s",
                len(warnings),
                _relative(str(warnings[0]), slot),
            )
        return None


def _relative(message: str, slot: Path) -> str:
    """Name files as the release does (``rules/store.yaml``), not by the slot they sit in."""
    return message.replace(f"{slot.resolve()}/", "").replace(f"{slot}/", "")
