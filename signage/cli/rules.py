"""``signage rules check|simulate|schema``: the marketer's tools for rule tables."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from signage.catalog import declared_catalog, load_catalog
from signage.cli.common import ConfigOption, config_exit, print_findings, settings_or_exit
from signage.domain import Catalog
from signage.settings import Settings
from signage.targeting.checker import check_rules
from signage.targeting.decide import explain
from signage.targeting.loader import load_rules
from signage.targeting.model import RuleFile
from signage.targeting.ruleset import RuleSet
from signage.targeting.simulate import AudienceSyntaxError, parse_audience, simulate_day
from signage.yamlconf import ConfigError, Finding

CatalogOption = Annotated[
    Path | None, typer.Option("--catalog", help="Ad catalog to check names against (default: the settings').")
]
FilesArgument = Annotated[
    list[Path] | None, typer.Argument(help="Rule files (default: the settings').", show_default=False)
]


def catalog_for_rules(path: Path, image_s: float) -> Catalog:
    """The catalog with every ad it lists: probed where the media is playable, as written otherwise.

    Rule checks need the names, not the media, so an ad whose file is missing still counts.
    """
    playable = load_catalog(path, probe=True, default_image_s=image_s)
    have = {ad.ad_id for ad in playable.ads}
    extra = tuple(ad for ad in declared_catalog(path, default_image_s=image_s).ads if ad.ad_id not in have)
    return Catalog(ads=playable.ads + extra, standby=playable.standby, skipped=playable.skipped)


def _load(files: list[Path], settings: Settings) -> tuple[RuleSet | None, list[Finding]]:
    try:
        return load_rules(files, settings.tz, settings.perception.estimate_emotion), []
    except ConfigError as exc:
        return None, list(exc.findings)


def _rules_or_exit(files: list[Path], settings: Settings) -> RuleSet:
    rules, findings = _load(files, settings)
    if rules is None:
        print_findings(findings)
        raise typer.Exit(1)
    return rules


def _catalog_or_none(path: Path | None, settings: Settings) -> tuple[Catalog | None, Finding | None]:
    path = path or settings.catalog
    try:
        return catalog_for_rules(path, settings.display.image_duration_s), None
    except ConfigError as exc:
        first = exc.findings[0]
        note = f"catalog not usable, ad names not checked: {first.message}"
        return None, Finding(first.file, first.line, first.column, "", note, "warning")


def _parse_at(text: str | None, settings: Settings) -> datetime:
    if text is None:
        return datetime.now(settings.tz)
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        typer.echo(f"--at {text!r} is not a date and time; write it as '2026-11-21 10:00'", err=True)
        raise typer.Exit(2) from None
    return when.replace(tzinfo=settings.tz) if when.tzinfo is None else when


def register(app: typer.Typer) -> None:
    rules_app = typer.Typer(help="Check, simulate and describe rule tables (rules/*.yaml).")
    app.add_typer(rules_app, name="rules")

    @rules_app.command("check")
    def check_command(
        files: FilesArgument = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
        strict: Annotated[bool, typer.Option("--strict", help="Warnings fail the check too.")] = False,
        catalog: CatalogOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Validate rule files: every problem as FILE:LINE:COLUMN: message. Exit 1 on any error."""
        settings = settings_or_exit(config)
        paths = list(files or settings.rules)
        rules, findings = _load(paths, settings)
        if rules is not None:
            cat, note = _catalog_or_none(catalog, settings)
            findings = ([note] if note else []) + check_rules(rules, cat, settings.policy)
        errors = sum(f.severity == "error" for f in findings)
        warnings = len(findings) - errors
        if as_json:
            doc = {"valid": errors == 0, "errors": errors, "warnings": warnings}
            typer.echo(json.dumps({**doc, "findings": [f.as_dict() for f in findings]}, indent=2))
        else:
            print_findings(findings, err=False)
            summary = f"{len(paths)} file(s): {errors} error(s), {warnings} warning(s)"
            if rules is not None:
                summary += f"; {len(rules.rules)} rule(s) in force"
            typer.echo(summary, err=True)
        raise typer.Exit(1 if errors or (strict and warnings) else 0)

    @rules_app.command("simulate")
    def simulate_command(
        files: FilesArgument = None,
        audience: Annotated[
            str, typer.Option("--audience", "-a", help="Who: '2 women 25-34 happy, 1 child', 'nobody'.")
        ] = "unknown",
        at: Annotated[str | None, typer.Option("--at", help="Store-local time, '2026-11-21 10:00'.")] = None,
        day: Annotated[bool, typer.Option("--day", help="Simulate the whole day, varying audience.")] = False,
        seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same answer).")] = 0,
        catalog: CatalogOption = None,
        config: ConfigOption = None,
    ) -> None:
        """What would play for this audience at this time, the rule, why, and the runner-up."""
        import random

        settings = settings_or_exit(config)
        rules = _rules_or_exit(list(files or settings.rules), settings)
        try:
            cat = catalog_for_rules(catalog or settings.catalog, settings.display.image_duration_s)
        except ConfigError as exc:
            raise config_exit(exc, 1) from None
        when = _parse_at(at, settings)
        if day:
            report = simulate_day(rules, cat, when.date(), settings.policy, seed=seed)
            head = (
                f"{when.date()} ({rules.tz.key}): {report.plays} plays, {report.standby_slots} standby slots"
            )
            typer.echo(head)
            typer.echo("share of voice (airtime):")
            width = max(
                [len(c) for c, _, _ in report.by_campaign] + [len(r) for r, _ in report.by_rule] + [8]
            )
            for campaign, plays, share in report.by_campaign:
                typer.echo(f"  {campaign:<{width}} {plays:>6} plays {share:7.1%}")
            typer.echo("decisions by rule:")
            for rule_id, n in report.by_rule:
                typer.echo(f"  {rule_id:<{width}} {n:>6}")
            typer.echo("caps that bound:" if report.caps_bound else "caps that bound: none")
            for sentence, n in report.caps_bound:
                typer.echo(f"  {sentence} ({n} decisions)")
            return
        try:
            snapshot = parse_audience(audience)
        except AudienceSyntaxError as exc:
            typer.echo(f"--audience: {exc}", err=True)
            raise typer.Exit(2) from None
        result = explain(snapshot, cat, rules, [], when, random.Random(seed), settings.policy)
        decision = result.decision
        local = when.astimezone(rules.tz)
        typer.echo(f"at {local:%a %Y-%m-%d %H:%M} {rules.tz.key}, audience: {audience}")
        typer.echo(f"plays:     {decision.ad.ad_id if decision.ad else '(standby slide)'}")
        typer.echo(f"rule:      {decision.rule}")
        typer.echo(f"why:       {decision.reason}")
        typer.echo(f"runner-up: {decision.runner_up.ad_id if decision.runner_up else '(none)'}")

    @rules_app.command("schema")
    def schema_command(
        output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")] = None,
    ) -> None:
        """The JSON Schema of a rule file (editors use it for completion and checks)."""
        text = rule_schema_json()
        if output is None:
            typer.echo(text, nl=False)
        else:
            output.write_text(text, encoding="utf-8")


def rule_schema_json() -> str:
    schema = RuleFile.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Signage rule table (rules/*.yaml)"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
