"""``signage train`` and ``signage evaluate``: the face-attribute model's commands."""

from __future__ import annotations

import functools
import logging
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Protocol, TypeVar

import typer

if TYPE_CHECKING:
    from classifier.attributes import AttributeModel
    from classifier.attributes.network import AttributeNet
    from classifier.attributes.training import TrainConfig, TrainResult

log = logging.getLogger("signage")

UtkOption = Annotated[
    Path | None,
    typer.Option(
        "--utkface", help="Folder of UTKFace-named images (AGE_GENDER_RACE_*.jpg; gender 0 male, 1 female)."
    ),
]
FerOption = Annotated[
    Path | None,
    typer.Option(
        "--fer2013",
        help="Folder with one sub-folder per emotion (angry ... surprise); for training "
        "the FER2013 root with train/ is accepted too.",
    ),
]


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train_command(
        utkface: Annotated[Path, typer.Option("--utkface", help="UTKFace image folder.")],
        fer2013: Annotated[Path, typer.Option("--fer2013", help="FER2013 root (train/ + validation/).")],
        out: Annotated[
            Path, typer.Option("--out", help="Models folder for the weights and manifest.")
        ] = Path("models"),
        work_dir: Annotated[
            Path,
            typer.Option(
                "--work-dir",
                help="Scratch folder for cached crops, activations and checkpoints (not the repo).",
            ),
        ] = Path("/tmp/signage-train"),
        epochs: Annotated[int, typer.Option(min=1)] = 8,
        seed: int = 20261121,
        views: Annotated[int, typer.Option(min=1, help="Augmented views cached per training face.")] = 3,
        threads: Annotated[int, typer.Option(min=1)] = 2,
        limit: Annotated[int | None, typer.Option(help="Use at most this many images per dataset.")] = None,
        input_size: Annotated[int, typer.Option(min=32, help="Network input, px (crops are shrunk).")] = 64,
        frozen_blocks: Annotated[
            int,
            typer.Option(
                min=0,
                max=11,
                help="EfficientNet blocks kept at ImageNet weights (fewer: slower, adapts more).",
            ),
        ] = 5,
        label_smoothing: Annotated[
            float,
            typer.Option(
                min=0.0, max=0.5, help="Label smoothing of the emotion loss (FER2013 labels are noisy)."
            ),
        ] = 0.05,
        resume: Annotated[
            bool, typer.Option("--resume", help="Continue from the last epoch checkpoint.")
        ] = False,
        init: Annotated[
            Path | None,
            typer.Option(
                "--init", help="Models folder whose weights start training instead of ImageNet (warm start)."
            ),
        ] = None,
        online_augment: Annotated[
            bool,
            typer.Option(
                "--online-augment",
                help="Augment every batch afresh (store-camera degradations included) instead "
                "of caching views; with --frozen-blocks 0 the whole network trains.",
            ),
        ] = False,
        augment_strength: Annotated[
            float,
            typer.Option(
                min=0.0, max=3.0, help="Online mode: scales the probability of each camera degradation."
            ),
        ] = 1.0,
        lr: Annotated[float, typer.Option(min=0.0, help="Peak learning rate of the trunk.")] = 6e-4,
        head_lr: Annotated[float, typer.Option(min=0.0, help="Peak learning rate of the heads.")] = 2e-3,
        warmup_steps: Annotated[
            int, typer.Option(min=0, help="Linear warm-up steps before the cosine.")
        ] = 150,
        loader_workers: Annotated[
            int,
            typer.Option(
                min=0, max=4, help="Online mode: processes augmenting batches next to training (0: inline)."
            ),
        ] = 1,
        best_dir: Annotated[
            Path | None,
            typer.Option(
                "--best-dir",
                help="Online mode: after each epoch that beats the best calibration-split score so "
                "far, export that model here (weights, manifest, model card).",
            ),
        ] = None,
    ) -> None:
        """Train the age/gender/emotion model (seeded, resumable) and pin it in OUT/manifest.yaml."""
        _logging()
        # Before torch loads OpenMP: spinning waits make 2 threads on a busy 2-core machine 3-5x slower than
        # sleeping ones (measured: 6-8 vs 23-41 img/s while other processes ran). An explicit value wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        from classifier.attributes import ModelError
        from classifier.attributes.export import export, previous_commands
        from classifier.attributes.training import TrainConfig, train

        for name, folder in (("--utkface", utkface), ("--fer2013", fer2013)):
            if not folder.is_dir():
                typer.echo(f"{name} folder {folder} does not exist.", err=True)
                raise typer.Exit(2)
        if best_dir is not None and not online_augment:
            typer.echo(
                "--best-dir needs --online-augment (the cached-views recipe exports at the end only).",
                err=True,
            )
            raise typer.Exit(2)
        cfg = TrainConfig(
            utkface=utkface,
            fer2013=fer2013,
            work_dir=work_dir,
            epochs=epochs,
            seed=seed,
            views=views,
            threads=threads,
            limit=limit,
            input_size=input_size,
            frozen_blocks=frozen_blocks,
            emotion_label_smoothing=label_smoothing,
            init=init,
            online_augment=online_augment,
            augment_strength=augment_strength,
            lr=lr,
            head_lr=head_lr,
            warmup_steps=warmup_steps,
            loader_workers=loader_workers,
        )
        command = "signage " + shlex.join(sys.argv[1:])
        # A resumed run continues OUT's commands; a warm start continues those of the model it started from.
        # (A resumed run whose OUT is not written yet, e.g. killed before its end, continues its --init's.)
        from_init = previous_commands(init) if init is not None else []
        earlier = (previous_commands(out) or from_init) if resume else from_init
        commands = [*earlier, command]
        on_best = (
            None
            if best_dir is None
            else functools.partial(_write_candidate, cfg=cfg, out_dir=best_dir, commands=commands)
        )
        try:
            net, result = train(cfg, resume=resume, on_best=on_best)
        except (ModelError, ValueError) as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from exc
        path = export(net, result, cfg, out, commands)
        typer.echo(f"wrote {path} (calibration split: {result.calibration_metrics})")

    @app.command("evaluate")
    def evaluate_command(
        utkface: UtkOption = None,
        fer2013: FerOption = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
        plots: Annotated[
            Path | None, typer.Option("--plots", help="Write PNG charts into this folder.")
        ] = None,
        models_dir: Annotated[Path, typer.Option("--models", help="Folder with manifest.yaml.")] = Path(
            "models"
        ),
        record: Annotated[
            bool,
            typer.Option(
                "--record", help="Store these figures in the manifest as the held-out test metrics."
            ),
        ] = False,
        degrade: Annotated[
            bool,
            typer.Option(
                "--degrade",
                help="Re-render the faces under store-camera conditions (face width 24/32/48 px, motion "
                "blur, JPEG q30, dim light, grey) and report every metric per condition.",
            ),
        ] = False,
        conditions: Annotated[
            str | None,
            typer.Option("--conditions", help="With --degrade: a comma-separated subset of the conditions."),
        ] = None,
    ) -> None:
        """Evaluate the model on held-out UTKFace and/or FER2013 folders."""
        from classifier.attributes.evaluation import evaluate

        if utkface is None and fer2013 is None:
            typer.echo("Give --utkface DIR, --fer2013 DIR, or both.", err=True)
            raise typer.Exit(2)
        if degrade:
            _evaluate_degraded(utkface, fer2013, models_dir, as_json, record, conditions)
            return
        measure = functools.partial(evaluate, utkface=utkface, fer2013=fer2013, plots=plots)
        _held_out_report(models_dir, measure, _print_table, as_json, record)


def _evaluate_degraded(
    utkface: Path | None,
    fer2013: Path | None,
    models_dir: Path,
    as_json: bool,
    record: bool,
    conditions: str | None,
) -> None:
    from classifier.attributes.degrade import evaluate_degraded

    names = [c.strip() for c in conditions.split(",") if c.strip()] if conditions else None
    measure = functools.partial(evaluate_degraded, utkface=utkface, fer2013=fer2013, conditions=names)
    _held_out_report(models_dir, measure, _print_degraded, as_json, record, key="held_out_degraded")


class _Figures(Protocol):
    def to_json(self) -> str: ...


FiguresT = TypeVar("FiguresT", bound=_Figures)


def _held_out_report(
    models_dir: Path,
    measure: Callable[[AttributeModel], FiguresT],
    print_table: Callable[[FiguresT], None],
    as_json: bool,
    record: bool,
    key: str = "held_out_test",
) -> None:
    """Measure the model of ``models_dir``, print the figures (a table or JSON), and with ``record``
    store them in its manifest under ``key``; a model or data set that cannot be read exits 2."""
    from classifier.attributes import AttributeModel, ModelError

    try:
        report = measure(AttributeModel.load(models_dir))
    except (ModelError, FileNotFoundError, ValueError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(report.to_json())
    else:
        print_table(report)
    if record:
        import json

        from classifier.attributes.export import record_test_metrics

        figures = json.loads(report.to_json())
        record_test_metrics(models_dir, figures, "signage " + shlex.join(sys.argv[1:]), key=key)


def _print_degraded(report: object) -> None:
    from rich.console import Console
    from rich.table import Table

    from classifier.attributes.degrade import DegradeReport, recommend

    assert isinstance(report, DegradeReport)

    def fmt(v: float | None, pct: bool = False) -> str:
        return "-" if v is None else (f"{100 * v:.1f}%" if pct else f"{v:.2f}")

    console = Console()
    console.print(f"UTKFace faces: {report.n_utkface}   FER2013 faces: {report.n_fer2013}")
    table = Table("condition", "age MAE", "gender", "women", "men", "children", "emotion")
    for name, m in report.conditions.items():
        table.add_row(
            name,
            fmt(m.age_mae),
            fmt(m.gender_accuracy, True),
            fmt(m.gender_accuracy_female, True),
            fmt(m.gender_accuracy_male, True),
            fmt(m.gender_accuracy_child, True),
            fmt(m.emotion_accuracy, True),
        )
    console.print(table)
    if report.by_yaw:
        yaw_table = Table("|yaw| (head pose)", "faces", "age MAE", "gender")
        for b in report.by_yaw:
            yaw_table.add_row(
                f"{b.low_deg:g}-{b.high_deg:g} deg", str(b.n), fmt(b.age_mae), fmt(b.gender_accuracy, True)
            )
        console.print(yaw_table)
        console.print(f"({report.n_no_yaw} faces without a pose estimate)")
    advice = recommend(report)
    console.print(
        f"Recommended: perception.min_face_px_for_attributes = {advice.min_face_px}, "
        f"attribute yaw limit = {advice.max_yaw_deg} deg ({advice.rule})."
    )


def _write_candidate(
    net: AttributeNet, result: TrainResult, cfg: TrainConfig, out_dir: Path, commands: list[str]
) -> None:
    from classifier.attributes.export import export_candidate

    path = export_candidate(net, result, cfg, out_dir, commands)
    log.info("candidate (epoch %d) written to %s", result.epochs, path.parent)


def _print_table(report: object) -> None:
    from rich.console import Console
    from rich.table import Table

    from classifier.attributes.evaluation import EvaluationReport

    assert isinstance(report, EvaluationReport)

    def fmt(v: float | None, pct: bool = False) -> str:
        return "-" if v is None else (f"{100 * v:.1f}%" if pct else f"{v:.2f}")

    console = Console()
    console.print(
        f"UTKFace faces: {report.n_utkface}   FER2013 faces: {report.n_fer2013}   "
        f"ms/face (batched, 1 thread): {fmt(report.ms_per_face)}"
    )
    console.print(
        f"age MAE {fmt(report.age_mae)}   gender {fmt(report.gender_accuracy, True)}   "
        f"emotion {fmt(report.emotion_accuracy, True)}"
    )
    table = Table("group", "n", "age MAE", "gender acc")
    for name, g in {**report.by_age_band, **report.by_gender}.items():
        table.add_row(name, str(g.n), fmt(g.age_mae), fmt(g.gender_accuracy, True))
    console.print(table)
    emotions = Table("emotion", "n", "recall")
    for name, e in report.by_emotion.items():
        emotions.add_row(name, str(e.n), fmt(e.recall, True))
    console.print(emotions)
