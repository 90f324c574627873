"""``signage ads add|list|remove|classify|tag|evaluate``: the ad library and its subject classifier."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from signage.cli.ads_subjects import MinConfidenceOption, register_evaluate
from signage.cli.common import ConfigOption, config_exit, settings_or_exit
from signage.yamlconf import ConfigError

if TYPE_CHECKING:
    from classifier.subjects.classifier import SubjectClassifier

log = logging.getLogger("signage")

CatalogOption = Annotated[
    Path | None, typer.Option("--catalog", help="Catalog file; default: the one in the settings.")
]
SubjectsOption = Annotated[
    Path | None,
    typer.Option("--subjects", help="Subject taxonomy; default: subjects.yaml beside the catalog."),
]
OcrOption = Annotated[bool, typer.Option("--ocr/--no-ocr", help="Read on-screen text (RapidOCR).")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _catalog(config: Path | None, catalog: Path | None) -> Path:
    return catalog if catalog is not None else settings_or_exit(config).catalog


def _classifier(config: Path | None, catalog: Path, subjects: Path | None, ocr: bool) -> SubjectClassifier:
    from signage.cli.ads_subjects import build_classifier

    return build_classifier(config, catalog, subjects, ocr)


def register(app: typer.Typer) -> None:
    ads = typer.Typer(
        help="The ad library: add, list, remove, classify and tag creatives.", no_args_is_help=True
    )
    app.add_typer(ads, name="ads")
    register_evaluate(ads)

    @ads.command("add")
    def add_command(
        file: Annotated[Path, typer.Argument(help="Video (mp4/mkv/webm/mov/avi) or still (png/jpg).")],
        ad_id: Annotated[str | None, typer.Option("--id", help="Ad id; default: from the file name.")] = None,
        advertiser: Annotated[str | None, typer.Option("--advertiser")] = None,
        campaign: Annotated[str | None, typer.Option("--campaign")] = None,
        title: Annotated[str | None, typer.Option("--title")] = None,
        description: Annotated[str | None, typer.Option("--description")] = None,
        config: ConfigOption = None,
        catalog: CatalogOption = None,
    ) -> None:
        """Probe, checksum and copy FILE into the library, make a thumbnail, and add it to the catalog."""
        from signage.library.library import AdDetails, LibraryError, add_ad

        path = _catalog(config, catalog)
        try:
            result = add_ad(path, file, AdDetails(ad_id, advertiser, campaign, title, description))
        except LibraryError as exc:
            raise _fail(str(exc)) from exc
        except ConfigError as exc:
            typer.echo(f"{path} has errors; fix them before adding ads:", err=True)
            raise config_exit(exc) from exc
        if not result.added:
            typer.echo(f"{file} is already in the catalog as '{result.ad_id}'; nothing changed.")
            return
        info = result.info
        what = (
            f"{info.width}x{info.height}" + (f", {info.duration_s:.1f} s" if info and info.duration_s else "")
            if info
            else ""
        )
        typer.echo(f"added '{result.ad_id}' ({what}) -> {result.media}")

    @ads.command("list")
    def list_command(
        config: ConfigOption = None,
        catalog: CatalogOption = None,
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    ) -> None:
        """The ads in the catalog with their confirmed and suggested subjects."""
        from rich.console import Console
        from rich.table import Table

        from signage.library.library import list_ads

        try:
            rows = list_ads(_catalog(config, catalog))
        except ConfigError as exc:
            raise config_exit(exc) from exc
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "ads": [
                            {
                                "id": r.ad_id,
                                "media": r.media,
                                "kind": r.kind,
                                "duration_s": r.duration_s,
                                "advertiser": r.advertiser,
                                "campaign": r.campaign,
                                "subjects": list(r.subjects),
                                "auto_subjects": [{"id": s, "score": v} for s, v in r.auto_subjects],
                                "media_present": r.media_present,
                            }
                            for r in rows
                        ]
                    }
                )
            )
            return
        table = Table("id", "kind", "length", "advertiser", "campaign", "subjects", "suggested")
        for r in rows:
            length = f"{r.duration_s:.1f} s" if r.duration_s else "-"
            kind = r.kind if r.media_present else f"{r.kind} (missing!)"
            suggested = ", ".join(f"{s} {v:.2f}" for s, v in r.auto_subjects)
            table.add_row(r.ad_id, kind, length, r.advertiser, r.campaign, ", ".join(r.subjects), suggested)
        Console().print(table)

    @ads.command("remove")
    def remove_command(
        ad_id: Annotated[str, typer.Argument(help="The ad's id.")],
        delete_media: Annotated[
            bool, typer.Option("--delete-media", help="Also delete its media file.")
        ] = False,
        config: ConfigOption = None,
        catalog: CatalogOption = None,
    ) -> None:
        """Remove an ad from the catalog (its media file stays unless --delete-media)."""
        from signage.library.library import LibraryError, remove_ad

        try:
            deleted = remove_ad(_catalog(config, catalog), ad_id, delete_media=delete_media)
        except LibraryError as exc:
            raise _fail(str(exc)) from exc
        except ConfigError as exc:
            raise config_exit(exc) from exc
        typer.echo(f"removed '{ad_id}'" + (f" and deleted {deleted}" if deleted else ""))

    @ads.command("classify")
    def classify_command(
        file: Annotated[Path, typer.Argument(help="Video or still image.")],
        title: Annotated[str, typer.Option("--title", help="The ad's title, if any.")] = "",
        description: Annotated[str, typer.Option("--description")] = "",
        as_json: Annotated[
            bool, typer.Option("--json", help='Print {"subjects": [{"id", "score"}...]}.')
        ] = False,
        top: Annotated[int, typer.Option("--top", min=1, help="How many subjects to print.")] = 5,
        config: ConfigOption = None,
        catalog: CatalogOption = None,
        subjects: SubjectsOption = None,
        ocr: OcrOption = True,
        min_confidence: MinConfidenceOption = 0.5,
    ) -> None:
        """Subject scores for one video or still, highest first, with what each signal contributed."""
        from classifier.subjects.frames import MediaSamplingError
        from signage.cli.ads_subjects import print_classification

        classifier = _classifier(config, _catalog(config, catalog), subjects, ocr)
        try:
            result = classifier.classify(file, title=title, description=description)
        except MediaSamplingError as exc:
            raise _fail(str(exc)) from exc
        print_classification(result, top, min_confidence, as_json)

    @ads.command("tag")
    def tag_command(
        ad_ids: Annotated[
            list[str] | None, typer.Argument(help="Only these ads (default: untagged).")
        ] = None,
        retag: Annotated[
            bool, typer.Option("--all", help="Re-tag every ad without confirmed subjects.")
        ] = False,
        config: ConfigOption = None,
        catalog: CatalogOption = None,
        subjects: SubjectsOption = None,
        ocr: OcrOption = True,
        min_confidence: MinConfidenceOption = 0.5,
    ) -> None:
        """Suggest subjects (auto_subjects) for ads nobody confirmed; confirmed subjects are never changed.

        Only suggestions at or above --min-confidence are written; the others are listed for review."""
        from rich.progress import Progress

        from classifier.subjects.cache import EvidenceStore
        from classifier.subjects.text import default_cache_dir
        from signage.library.tagging import tag_catalog

        path = _catalog(config, catalog)
        classifier = _classifier(config, path, subjects, ocr)
        store = EvidenceStore(default_cache_dir(), classifier.variant)
        try:
            with Progress(transient=True) as progress:
                task = progress.add_task("classifying", total=None)
                outcomes = tag_catalog(
                    path,
                    classifier,
                    retag=retag,
                    only=tuple(ad_ids or ()),
                    store=store,
                    progress=lambda ad: progress.update(task, advance=1, description=ad),
                    min_confidence=min_confidence,
                )
        except ConfigError as exc:
            raise config_exit(exc) from exc
        if not outcomes:
            typer.echo("nothing to tag: every ad is confirmed or already tagged (use --all to re-tag).")
        for o in outcomes:
            if o.status == "tagged":
                typer.echo(f"{o.ad_id:24s} " + ", ".join(f"{s.subject_id} {s.score:.2f}" for s in o.subjects))
            elif o.status == "review":
                guesses = ", ".join(f"{s.subject_id} {s.score:.2f}" for s in o.subjects)
                typer.echo(f"{o.ad_id:24s} unsure, please review (not written): {guesses}")
            else:
                typer.echo(f"{o.ad_id:24s} not tagged: {o.message}", err=True)
