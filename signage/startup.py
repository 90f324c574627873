"""The first lines the player logs: what runs, in a few lines an installer can read in the journal."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from signage.settings import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)


def short_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    except OSError as exc:
        return f"unreadable: {exc.strerror}"


def _catalog_line(settings: Settings) -> str:
    from signage.catalog import declared_catalog
    from signage.yamlconf import ConfigError

    try:
        count = len(declared_catalog(settings.catalog).ads)
        ads = f"{count} ad{'' if count == 1 else 's'} listed"
    except ConfigError:
        ads = "invalid: see below"
    return f"catalog {settings.catalog} (sha256 {short_digest(settings.catalog)}, {ads})"


def _rules_line(settings: Settings) -> str:
    if not settings.rules:
        return "rules: none (the house rotation plays)"
    return "rules " + ", ".join(f"{path} (sha256 {short_digest(path)})" for path in settings.rules)


def _percent(value: Any) -> str:
    return f"{value * 100:.1f}%" if isinstance(value, int | float) else "?"


def model_summary(models_dir: Path) -> str:
    """One phrase per model in the manifest: its pinned sha256, date and held-out figures."""
    from classifier.attributes.manifest import ModelError, read_manifest

    try:
        models = read_manifest(models_dir)["models"]
    except ModelError as exc:
        return str(exc)
    phrases = []
    for name, entry in models.items():
        if not isinstance(entry, dict):
            continue
        test = (entry.get("metrics") or {}).get("held_out_test") or {}
        figures = []
        if isinstance(test.get("age_mae"), int | float):
            figures.append(f"age MAE {test['age_mae']:.2f} y")
        if "gender_accuracy" in test:
            figures.append(f"gender {_percent(test['gender_accuracy'])}")
        if "emotion_accuracy" in test:
            figures.append(f"emotion {_percent(test['emotion_accuracy'])}")
        date = str(entry.get("date", ""))[:10]
        held_out = f"; held-out {', '.join(figures)}" if figures else ""
        phrases.append(f"{name} sha256 {str(entry.get('sha256', '?'))[:8]} ({date}{held_out})")
    return ", ".join(phrases) or f"no models listed in {models_dir}"


def startup_lines(settings: Settings, models_dir: Path | None = None) -> list[str]:
    from signage.camera.opencv_source import redact_url
    from signage.store.engine import describe_url

    perception = "on" if settings.perception.enabled else "off"
    if settings.perception.enabled and not settings.perception.estimate_emotion:
        perception += " (no emotion: perception.estimate_emotion is false)"
    notice = "on" if settings.display.privacy_notice else "off"
    lines = [
        f"screen {settings.screen_id} in store {settings.store_id}, time zone {settings.timezone},"
        f" data {settings.data_dir}",
        _catalog_line(settings),
        _rules_line(settings),
        f"camera {redact_url(settings.camera.source)}, perception {perception}, privacy notice {notice}",
    ]
    if settings.perception.enabled:
        lines.append("models: " + model_summary(models_dir or PROJECT_ROOT / "models"))
    lines.append(f"database {describe_url(settings.resolved_database_url())}")
    return lines


def log_startup(settings: Settings, models_dir: Path | None = None) -> None:
    for line in startup_lines(settings, models_dir):
        log.info("%s", line)
