"""``signage train`` and ``signage evaluate``: the face-attribute model's commands."""

from __future__ import annotations

import logging
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

log = logging.getLogger("signage")

UtkOption = Annotated[
    Path | None,
    typer.Option("--utkface", help="Folder of UTKFace-named images (AGE_GENDER_RACE_*.jpg; gender 0 male, 1 female)."),
]
FerOption = Annotated[
    Path | None,
    typer.Option("--fer2013", help="Folder with one sub-folder per emotion (angry ... surprise); for training "
                                   "the FER2013 root with train/ is accepted too."),
]


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train_command(
        utkface: Annotated[Path, typer.Option("--utkface", help="UTKFace image folder.")],
        fer2013: Annotated[Path, typer.Option("--fer2013", help="FER2013 root (train/ + validation/).")],
        out: Annotated[Path, typer.Option("--out", help="Models folder for the weights and manifest.")] = Path(
            "models"),
        work_dir: Annotated[Path, typer.Option(
            "--work-dir", help="Scratch folder for cached crops, activations and checkpoints (not the repo).")
        ] = Path("/tmp/signage-train"),
        epochs: Annotated[int, typer.Option(min=1)] = 8,
        seed: int = 20261121,
        views: Annotated[int, typer.Option(min=1, help="Augmented views cached per training face.")] = 3,
        threads: Annotated[int, typer.Option(min=1)] = 2,
        limit: Annotated[int | None, typer.Option(help="Use at most this many images per dataset.")] = None,
        input_size: Annotated[int, typer.Option(min=32, help="Network input, px (crops are shrunk).")] = 64,
        frozen_blocks: Annotated[int, typer.Option(
            min=0, max=11, help="EfficientNet blocks kept at ImageNet weights (fewer: slower, adapts more).")] = 5,
        label_smoothing: Annotated[float, typer.Option(
            min=0.0, max=0.5, help="Label smoothing of the emotion loss (FER2013 labels are noisy).")] = 0.05,
        resume: Annotated[bool, typer.Option("--resume", help="Continue from the last epoch checkpoint.")] = False,
        init: Annotated[Path | None, typer.Option(
            "--init", help="Models folder whose weights start training instead of ImageNet (warm start).")
        ] = None,
    ) -> None:
        """Train the age/gender/emotion model (seeded, resumable) and pin it in OUT/manifest.yaml."""
        _logging()
        from classifier.attributes import ModelError
        from classifier.attributes.export import export, previous_commands
        from classifier.attributes.training import TrainConfig, train

        for name, folder in (("--utkface", utkface), ("--fer2013", fer2013)):
            if not folder.is_dir():
                typer.echo(f"{name} folder {folder} does not exist.", err=True)
                raise typer.Exit(2)
        cfg = TrainConfig(utkface=utkface, fer2013=fer2013, work_dir=work_dir, epochs=epochs, seed=seed,
                          views=views, threads=threads, limit=limit, input_size=input_size,
                          frozen_blocks=frozen_blocks, emotion_label_smoothing=label_smoothing, init=init)
        try:
            net, result = train(cfg, resume=resume)
        except (ModelError, ValueError) as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from exc
        command = "signage " + shlex.join(sys.argv[1:])
        # A resumed run continues OUT's commands; a warm start continues those of the model it started from.
        earlier = previous_commands(out) if resume else previous_commands(init) if init is not None else []
        commands = [*earlier, command]
        path = export(net, result, cfg, out, commands)
        typer.echo(f"wrote {path} (calibration split: {result.calibration_metrics})")

    @app.command("evaluate")
    def evaluate_command(
        utkface: UtkOption = None,
        fer2013: FerOption = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
        plots: Annotated[Path | None, typer.Option("--plots", help="Write PNG charts into this folder.")] = None,
        models_dir: Annotated[Path, typer.Option("--models", help="Folder with manifest.yaml.")] = Path("models"),
        record: Annotated[bool, typer.Option(
            "--record", help="Store these figures in the manifest as the held-out test metrics.")] = False,
    ) -> None:
        """Evaluate the model on held-out UTKFace and/or FER2013 folders."""
        from classifier.attributes import AttributeModel, ModelError
        from classifier.attributes.evaluation import evaluate

        if utkface is None and fer2013 is None:
            typer.echo("Give --utkface DIR, --fer2013 DIR, or both.", err=True)
            raise typer.Exit(2)
        try:
            model = AttributeModel.load(models_dir)
            report = evaluate(model, utkface, fer2013, plots)
        except (ModelError, FileNotFoundError, ValueError) as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from exc
        if as_json:
            typer.echo(report.to_json())
        else:
            _print_table(report)
        if record:
            import json

            from classifier.attributes.export import record_test_metrics

            figures = json.loads(report.to_json())
            record_test_metrics(models_dir, figures, "signage " + shlex.join(sys.argv[1:]))


def _print_table(report: object) -> None:
    from rich.console import Console
    from rich.table import Table

    from classifier.attributes.evaluation import EvaluationReport

    assert isinstance(report, EvaluationReport)

    def fmt(v: float | None, pct: bool = False) -> str:
        return "-" if v is None else (f"{100 * v:.1f}%" if pct else f"{v:.2f}")

    console = Console()
    console.print(f"UTKFace faces: {report.n_utkface}   FER2013 faces: {report.n_fer2013}   "
                  f"ms/face (batched, 1 thread): {fmt(report.ms_per_face)}")
    console.print(f"age MAE {fmt(report.age_mae)}   gender {fmt(report.gender_accuracy, True)}   "
                  f"emotion {fmt(report.emotion_accuracy, True)}")
    table = Table("group", "n", "age MAE", "gender acc")
    for name, g in {**report.by_age_band, **report.by_gender}.items():
        table.add_row(name, str(g.n), fmt(g.age_mae), fmt(g.gender_accuracy, True))
    console.print(table)
    emotions = Table("emotion", "n", "recall")
    for name, e in report.by_emotion.items():
        emotions.add_row(name, str(e.n), fmt(e.recall, True))
    console.print(emotions)
