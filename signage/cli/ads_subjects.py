"""Helpers of ``signage ads classify|tag|evaluate``: building the subject classifier, printing its answers.

Kept apart from ``signage.cli.ads`` (the library commands) so that the classifier's options and output
live in one place.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from signage.cli.common import ConfigOption, config_exit, settings_or_exit
from signage.yamlconf import ConfigError

if TYPE_CHECKING:
    from classifier.subjects.classifier import Classification, SubjectClassifier

MinConfidenceOption = Annotated[
    float,
    typer.Option(
        "--min-confidence",
        min=0.0,
        max=1.0,
        help="Suggest a subject only when its calibrated probability is at least this; else list it for review.",
    ),
]
ModelsOption = Annotated[
    Path | None,
    typer.Option("--models", help="Folder with manifest.yaml and ad_subjects.npz; default: models/."),
]


def build_classifier(
    config: Path | None, catalog: Path | None, subjects: Path | None, ocr: bool, models: Path | None = None
) -> SubjectClassifier:
    """The classifier with the taxonomy beside the catalog, the pinned trained scorer and OCR."""
    from classifier.attributes.manifest import ModelError
    from classifier.subjects.classifier import SubjectClassifier
    from classifier.subjects.fusion import DEFAULT_MODELS_DIR, load_fusion
    from classifier.subjects.ocr import OcrEngine
    from signage.library.subjects import DEFAULT_SUBJECTS_FILE, load_taxonomy, subjects_file_for

    settings = settings_or_exit(config)
    if catalog is None:
        catalog = settings.catalog
    taxonomy_file = subjects or (subjects_file_for(catalog) if catalog else DEFAULT_SUBJECTS_FILE)
    try:
        taxonomy = load_taxonomy(taxonomy_file, settings.policy.restricted_subjects)
    except ConfigError as exc:
        raise config_exit(exc) from exc
    try:
        model = load_fusion(models or DEFAULT_MODELS_DIR)
    except ModelError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    return SubjectClassifier(taxonomy, model=model, ocr=OcrEngine.find() if ocr else None)


def classification_payload(result: Classification, min_confidence: float) -> dict[str, Any]:
    """``{"subjects": [{"id", "score", "contributions"}...]}`` best first, plus what was read."""
    return {
        "subjects": [
            {
                "id": s.subject_id,
                "score": round(s.score, 4),
                "contributions": result.contributions.get(s.subject_id, {}),
            }
            for s in result.scores.scores
        ],
        "confidence": round(result.confidence, 4),
        "abstained": result.abstains(min_confidence),
        "min_confidence": min_confidence,
        "screen_text": list(result.screen_text),
        "matched_words": [
            {
                "word": m.entry,
                "read": m.seen,
                "subjects": list(m.subject_ids),
                "similarity": round(m.similarity, 3),
            }
            for m in result.words
        ],
    }


def print_classification(result: Classification, top: int, min_confidence: float, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(classification_payload(result, min_confidence)))
        return
    for s in result.scores.scores[:top]:
        pushes = result.contributions.get(s.subject_id, {})
        why = ", ".join(
            f"{k} {v:+.1f}" for k, v in sorted(pushes.items(), key=lambda kv: -abs(kv[1])) if abs(v) >= 0.05
        )
        typer.echo(f"{s.subject_id:12s} {s.score:.3f}   {why}")
    if result.abstains(min_confidence):
        typer.echo(f"unsure: the best subject is below --min-confidence {min_confidence:.2f}")
    if result.words:
        typer.echo("words read: " + ", ".join(f"{m.seen} ({m.entry})" for m in result.words[:8]))


def register_evaluate(ads: typer.Typer) -> None:
    @ads.command("evaluate")
    def evaluate_command(
        folder: Annotated[Path, typer.Argument(help="Folder of ads with a labels.csv (file,subject).")],
        labels: Annotated[
            Path | None, typer.Option("--labels", help="Labels file; default: FOLDER/labels.csv.")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
        plots: Annotated[
            Path | None, typer.Option("--plots", help="Write confusion.png and reliability.png here.")
        ] = None,
        min_confidence: MinConfidenceOption = 0.5,
        config: ConfigOption = None,
        subjects: Annotated[Path | None, typer.Option("--subjects", help="Subject taxonomy.")] = None,
        models: ModelsOption = None,
        ocr: Annotated[bool, typer.Option("--ocr/--no-ocr", help="Read on-screen text.")] = True,
    ) -> None:
        """Accuracy on labelled ads: top-1/top-3, recall per subject, confusions, abstention, speed.

        Media only: no title or description. A label may list several subjects (food|drinks); any counts.
        """
        from rich.progress import Progress

        from classifier.subjects.evaluate import Prediction, evaluate, format_report, write_plots

        labels_file = labels if labels is not None else folder / "labels.csv"
        if not labels_file.is_file():
            raise _exit(f"{labels_file} does not exist; give --labels or put a labels.csv in {folder}.")
        classifier = build_classifier(config, None, subjects, ocr, models)

        def predict(path: Path) -> Prediction:
            result = classifier.classify(path)
            return Prediction(result.scores, result.abstains(min_confidence))

        try:
            with Progress(transient=True, disable=as_json) as progress:
                task = progress.add_task("classifying", total=None)
                report = evaluate(
                    folder,
                    predict,
                    labels=labels_file,
                    progress=lambda f: progress.update(task, advance=1, description=f),
                )
        except (ValueError, KeyError) as exc:
            raise _exit(f"{labels_file}: {exc}") from exc
        if plots is not None:
            written = write_plots(report, plots)
            if not as_json:
                typer.echo("plots: " + ", ".join(str(p) for p in written))
        if as_json:
            typer.echo(json.dumps({**report.to_dict(), "min_confidence": min_confidence}))
        else:
            typer.echo(format_report(report))


def _exit(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(2)
