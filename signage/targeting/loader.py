"""Read rule files into a RuleSet; every problem becomes a located Finding (FILE:LINE:COLUMN)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from signage.targeting.model import AudienceSpec, Fallback, GlobalCaps, Limits, RuleFile
from signage.targeting.ruleset import CompiledRule, RuleSet, compile_rule
from signage.yamlconf import ConfigError, Finding, LocatedDocument, parse_yaml, read_text, validate_document


def parse_rule_text(text: str, file: str) -> tuple[LocatedDocument, RuleFile]:
    """Parse and validate one rule file's text; raises ConfigError with every located error.

    The bounded parser (``signage.yamlconf.parse_yaml``) refuses alias bombs, recursive aliases,
    deep nesting, duplicate keys and impossible values (``2026-02-30``) at their line and column.
    """
    doc = parse_yaml(text, file, lazy_locations=True)
    spec = validate_document(doc, RuleFile)
    findings = reference_findings(doc, spec)
    if findings:
        raise ConfigError(findings)
    return doc, spec


def reference_findings(doc: LocatedDocument, spec: RuleFile) -> list[Finding]:
    """Cross-references inside one file that pydantic cannot locate: duplicate ids, unknown dayparts."""
    findings: list[Finding] = []
    first: dict[str, int] = {}
    for i, rule in enumerate(spec.rules):
        if rule.id in first:
            line, _ = doc.locate(("rules", first[rule.id], "id"))
            findings.append(
                doc.finding(("rules", i, "id"), f"rule id {rule.id!r} is already used on line {line}")
            )
        first.setdefault(rule.id, i)
        for j, name in enumerate(rule.dayparts):
            if name not in spec.dayparts:
                known = ", ".join(sorted(spec.dayparts)) or "none are defined in this file"
                findings.append(
                    doc.finding(("rules", i, "dayparts", j), f"unknown daypart {name!r} (known: {known})")
                )
    return findings


EMOTION_OFF = (
    "emotion estimation is switched off in settings (perception.estimate_emotion); this rule cannot be used"
)


def emotion_findings(doc: LocatedDocument, spec: RuleFile) -> list[Finding]:
    """Each rule that names an emotion, located at its ``emotion`` key (for when emotion is not estimated)."""
    return [
        doc.finding(("rules", i, "audience", "emotion"), EMOTION_OFF)
        for i, rule in enumerate(spec.rules)
        if rule.audience is not None and rule.audience.emotion
    ]


def _merge_caps(parts: Sequence[tuple[LocatedDocument, RuleFile]], findings: list[Finding]) -> GlobalCaps:
    ads: dict[str, Limits] = {}
    campaigns: dict[str, Limits] = {}
    every_ad: Limits | None = None
    every_campaign: Limits | None = None
    for doc, spec in parts:
        for kind, target, source in (
            ("ads", ads, spec.caps.ads),
            ("campaigns", campaigns, spec.caps.campaigns),
        ):
            for name, limits in source.items():
                if name in target:
                    findings.append(
                        doc.finding(
                            ("caps", kind, name), f"a cap for {name!r} is already set in another file"
                        )
                    )
                target[name] = limits
        every_ad = every_ad or spec.caps.every_ad
        every_campaign = every_campaign or spec.caps.every_campaign
    return GlobalCaps(every_ad=every_ad, every_campaign=every_campaign, ads=ads, campaigns=campaigns)


def build_ruleset(
    parts: Sequence[tuple[LocatedDocument, RuleFile]], tz: ZoneInfo, estimate_emotion: bool = True
) -> RuleSet:
    """Combine files: rules concatenate, caps merge; the first file's fallback and gap rule the house.

    With ``estimate_emotion`` False (settings ``perception.estimate_emotion``), a rule that names an
    emotion is an error: it could never be met, and the operator has chosen not to measure it.
    """
    findings: list[Finding] = []
    if not estimate_emotion:
        for doc, spec in parts:
            findings.extend(emotion_findings(doc, spec))
    rules: list[CompiledRule] = []
    disabled: list[str] = []
    owner: dict[str, str] = {}
    shared: dict[AudienceSpec, AudienceSpec] = {}
    for doc, spec in parts:
        for i, rule in enumerate(spec.rules):
            if rule.id in owner and owner[rule.id] != doc.file:
                findings.append(
                    doc.finding(
                        ("rules", i, "id"), f"rule id {rule.id!r} is already used in {owner[rule.id]}"
                    )
                )
                continue
            owner[rule.id] = doc.file
            if rule.enabled:
                rules.append(compile_rule(rule, spec, doc.file, i, shared))
            else:
                disabled.append(rule.id)
    caps = _merge_caps(parts, findings)
    if findings:
        raise ConfigError(findings)
    fallback = next((spec.fallback for _, spec in parts if spec.fallback != Fallback()), Fallback())
    gap = parts[0][1].defaults.min_gap_s if parts else 0.0
    return RuleSet(
        rules=tuple(rules),
        tz=tz,
        caps=caps,
        fallback=fallback,
        default_min_gap_s=gap,
        files=tuple(doc.file for doc, _ in parts),
        disabled=tuple(disabled),
        documents={doc.file: doc for doc, _ in parts},
        specs={doc.file: spec for doc, spec in parts},
    )


def read_rule_file(path: Path, what: str = "file") -> tuple[LocatedDocument, RuleFile]:
    """Read, parse and validate one rule file: the one place rule files are read.

    Raises a located ConfigError; one that cannot be read is named as ``what`` ("file not found").
    """
    return parse_rule_text(read_text(path, what), str(path))


def load_rules(paths: Iterable[Path], tz: ZoneInfo | None = None, estimate_emotion: bool = True) -> RuleSet:
    """Load, validate and compile rule files. All errors of all files raise one ConfigError.

    For the ``signage rules`` commands, which show a marketer everything to fix at once; the player
    reads its rules with ``signage.targeting.holder.read_rules``, which stops at the first bad file.
    ``estimate_emotion`` as in :func:`build_ruleset` (settings ``perception.estimate_emotion``).
    """
    parts: list[tuple[LocatedDocument, RuleFile]] = []
    findings: list[Finding] = []
    for path in paths:
        try:
            parts.append(read_rule_file(path))
        except ConfigError as exc:
            findings.extend(exc.findings)
    if findings:
        raise ConfigError(findings)
    return build_ruleset(parts, tz or ZoneInfo("UTC"), estimate_emotion)
