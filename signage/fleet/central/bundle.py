"""What a release will hold, validated as a screen would load it, before anything is stored.

The catalog is read with ``signage.catalog`` (every ad's media probed, as the player does), the
rules with ``signage.targeting``'s loader and checker (as ``signage rules check`` does), in every
time zone the group's screens use. Media is published under ``media/``: a path the catalog writes
as ``media/x.mp4`` stays as it is, any other catalog-relative path ``p`` becomes ``media/p``; a path
outside the catalog's folder is refused. When a path changes (or the catalog names thumbnails,
which screens do not use and a release does not carry) the catalog is rewritten with the
round-trip editor, so comments survive, and the rewritten text is loaded again from a staged copy
of the release to prove it reads the same.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo

from signage.catalog import CatalogFile, entry_to_ad, load_catalog
from signage.domain import Ad, Catalog
from signage.fleet.protocol import CATALOG_PATH, MEDIA_DIR, RULES_DIR, ProtocolError, check_release_path
from signage.library.catalog_file import CatalogDocument
from signage.media import CatalogMediaError
from signage.settings import PolicySettings
from signage.targeting.checker import check_rules
from signage.targeting.loader import build_ruleset, read_rule_file
from signage.targeting.model import RuleFile
from signage.yamlconf import ConfigError, Finding, LocatedDocument, parse_yaml, read_text, validate_document


@dataclass(frozen=True)
class Validation:
    """How the group's screens would read the files."""

    timezones: tuple[str, ...] = ("UTC",)
    estimate_emotion: bool = True
    policy: PolicySettings = field(default_factory=PolicySettings)
    image_duration_s: float = 8.0
    allow_warnings: bool = False  # False: a rule-check warning (an unknown ad, ...) stops the publish


@dataclass(frozen=True)
class BundleFile:
    path: str  # its path in the release
    source: Path | None  # the file to copy, or None for ``data``
    data: bytes | None = None


@dataclass(frozen=True)
class Bundle:
    files: tuple[BundleFile, ...]
    warnings: tuple[Finding, ...]  # findings that did not stop it (with allow_warnings)
    ads: int
    rule_count: int


class BundleError(Exception):
    """The files cannot become a release; ``findings`` says where and why, FILE:LINE:COLUMN."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = tuple(findings)
        super().__init__("\n".join(str(f) for f in self.findings))


def release_media_path(written: Path) -> str:
    """Where a catalog-relative media path lands in a release (see the module doc)."""
    if written.is_absolute():
        raise ProtocolError(
            f"media path {str(written)!r} is absolute; write it relative to the catalog's folder"
        )
    parts = PurePosixPath(written.as_posix()).parts
    if ".." in parts:
        raise ProtocolError(f"media path {str(written)!r} leaves the catalog's folder")
    relative = "/".join(p for p in parts if p != ".")
    path = relative if relative.startswith(f"{MEDIA_DIR}/") else f"{MEDIA_DIR}/{relative}"
    return check_release_path(path)


def _media_files(
    doc: LocatedDocument, spec: CatalogFile, base: Path
) -> tuple[dict[str, Path], list[Finding]]:
    """Release path -> source file of every ad's media and the standby slide."""
    named: list[tuple[tuple[str | int, ...], Path]] = [
        (("ads", i, "media"), e.media) for i, e in enumerate(spec.ads)
    ]
    if spec.standby is not None:
        named.append((("standby",), spec.standby))
    files: dict[str, Path] = {}
    findings: list[Finding] = []
    for key, written in named:
        try:
            path = release_media_path(written)
        except ProtocolError as exc:
            findings.append(doc.finding(key, str(exc)))
            continue
        source = base / written
        if not source.is_file():
            findings.append(doc.finding(key, f"media file {source} does not exist"))
        elif path in files and files[path].resolve() != source.resolve():
            findings.append(
                doc.finding(key, f"{written} and {files[path]} would both be published as {path}")
            )
        else:
            files[path] = source
    return files, findings


def _playable_ads(
    doc: LocatedDocument, spec: CatalogFile, base: Path, image_s: float
) -> tuple[list[Ad], list[Finding]]:
    """Every ad as the player builds it (media probed); one that would be left out is an error here."""
    ads: list[Ad] = []
    findings: list[Finding] = []
    for i, entry in enumerate(spec.ads):
        try:
            ads.append(entry_to_ad(entry, base, default_image_s=image_s, probe=True))
        except CatalogMediaError as exc:
            findings.append(
                doc.finding(("ads", i, "media"), f"ad {entry.id!r} would be left out on every screen: {exc}")
            )
        except OSError as exc:
            findings.append(
                doc.finding(
                    ("ads", i, "media"), f"ad {entry.id!r}: its media cannot be read ({exc.strerror})"
                )
            )
    return ads, findings


def _rules(
    paths: Sequence[Path], catalog: Catalog, how: Validation
) -> tuple[dict[str, Path], int, list[Finding], list[Finding]]:
    """The rule files by release path, the rule count, the errors and the warnings."""
    parts: list[tuple[LocatedDocument, RuleFile]] = []
    errors: list[Finding] = []
    files: dict[str, Path] = {}
    for path in paths:
        release_path = f"{RULES_DIR}/{path.stem}.yaml"
        if release_path in files:
            errors.append(
                Finding(str(path), 1, 1, "", f"another rule file is also named {path.stem}; rename one")
            )
        files[release_path] = path
        try:
            parts.append(read_rule_file(path))
        except ConfigError as exc:
            errors.extend(exc.findings)
    if errors:
        return files, 0, errors, []
    warnings: list[Finding] = []
    count = 0
    for tz in dict.fromkeys(how.timezones):
        try:
            ruleset = build_ruleset(parts, ZoneInfo(tz), how.estimate_emotion)
        except ConfigError as exc:
            return files, 0, list(exc.findings), []
        count = len(ruleset.rules)
        for finding in check_rules(ruleset, catalog, how.policy):
            found = errors if finding.severity == "error" else warnings
            if finding not in found:  # the same finding in another time zone
                found.append(finding)
    return files, count, errors, warnings


def _published_catalog(path: Path, spec: CatalogFile, media_paths: dict[Path, str]) -> bytes:
    """The catalog's bytes as published: unchanged, or rewritten with release media paths."""
    original = read_text(path)
    changes = any(e.thumbnail is not None for e in spec.ads) or any(
        str(written.as_posix()) != target for written, target in media_paths.items()
    )
    if not changes:
        return original.encode("utf-8")
    doc = CatalogDocument(path, original)
    if spec.standby is not None:
        doc.root["standby"] = media_paths[spec.standby]
    for entry, spec_entry in zip(doc.entries(), spec.ads, strict=True):
        entry["media"] = media_paths[spec_entry.media]
        if "thumbnail" in entry:
            del entry["thumbnail"]
    text = doc.dump()
    validate_document(parse_yaml(text, CATALOG_PATH), CatalogFile)
    return text.encode("utf-8")


def _check_staged(catalog_text: bytes, media: dict[str, Path], ads: int) -> None:
    """Load the catalog as published from a staged copy of the release (links to the media)."""
    with tempfile.TemporaryDirectory(prefix="signage-release-") as tmp:
        root = Path(tmp)
        (root / CATALOG_PATH).write_bytes(catalog_text)
        for release_path, source in media.items():
            link = root / release_path
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(source.resolve())
        staged = load_catalog(root / CATALOG_PATH, probe=False)
        if staged.skipped or len(staged.ads) != ads:
            raise BundleError(
                [
                    Finding(
                        CATALOG_PATH,
                        1,
                        1,
                        "",
                        "the catalog as published does not load the same: " + "; ".join(staged.skipped),
                    )
                ]
            )


def prepare_bundle(catalog: Path, rules: Sequence[Path], how: Validation) -> Bundle:
    """Validate the catalog, its media and the rule files; raise BundleError with every finding."""
    try:
        doc = parse_yaml(read_text(catalog), str(catalog))
        spec = validate_document(doc, CatalogFile)
    except ConfigError as exc:
        raise BundleError(exc.findings) from None
    base = catalog.resolve().parent
    media, findings = _media_files(doc, spec, base)
    ads, media_findings = _playable_ads(doc, spec, base, how.image_duration_s)
    reported = {(f.line, f.column) for f in findings}
    findings += [f for f in media_findings if (f.line, f.column) not in reported]
    standby = base / spec.standby if spec.standby is not None else None
    rule_files, rule_count, errors, warnings = _rules(rules, Catalog(ads=tuple(ads), standby=standby), how)
    findings += errors
    if warnings and not how.allow_warnings:
        findings += warnings
        warnings = []
    if findings:
        raise BundleError(findings)
    written = [e.media for e in spec.ads] + ([spec.standby] if spec.standby is not None else [])
    media_paths = {w: release_media_path(w) for w in written}
    catalog_bytes = _published_catalog(catalog, spec, media_paths)
    _check_staged(catalog_bytes, media, len(ads))
    files = [BundleFile(CATALOG_PATH, None, catalog_bytes)]
    files += [BundleFile(p, s) for p, s in sorted(rule_files.items())]
    files += [BundleFile(p, s) for p, s in sorted(media.items())]
    return Bundle(tuple(files), tuple(warnings), len(ads), rule_count)
