"""``signage perceive``: run audience perception on a video file or a camera and summarise each person."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from signage.cli.common import ConfigOption, settings_or_exit
from signage.domain import EMOTIONS, Track
from signage.settings import PROJECT_ROOT

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    app.command("perceive")(perceive)


def perceive(
    source: Annotated[str, typer.Argument(help="A video file, or a camera index such as 0.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of a table.")
    ] = False,
    config: ConfigOption = None,
    models_dir: Annotated[Path, typer.Option("--models", help="Folder with manifest.yaml.")] = PROJECT_ROOT
    / "models",
    no_attributes: Annotated[
        bool, typer.Option("--no-attributes", help="Track people without the age/gender/emotion model.")
    ] = False,
    seconds: Annotated[
        float, typer.Option(help="How long to watch a camera (files play to the end).")
    ] = 10.0,
) -> None:
    """Run perception on SOURCE and print each person's track: dwell, attention, attributes with uncertainty."""
    from signage.audience.factory import build_perception, load_attribute_model

    is_camera = source.isdigit()
    if not is_camera and not Path(source).is_file():
        typer.echo(f"error: the video file {source} does not exist", err=True)
        raise typer.Exit(2)
    settings = settings_or_exit(config).perception
    model = None
    if not no_attributes:
        from classifier.attributes import ModelError

        try:
            # As in the player: batched on one torch thread.
            model = load_attribute_model(models_dir, settings.estimate_emotion)
        except ModelError as exc:
            typer.echo(f"error: {exc} Use --no-attributes to track people without the model.", err=True)
            raise typer.Exit(2) from exc
    perception = build_perception(settings, model)
    tracks: dict[int, Track] = {}
    frames = most_present = 0
    first_t = last_t = None
    started = time.perf_counter()
    try:
        for image, t in _frames(source, seconds):
            snapshot = perception.process(image, t)
            frames += 1
            first_t = t if first_t is None else first_t
            last_t = t
            most_present = max(most_present, snapshot.present)
            for track in snapshot.tracks:
                tracks[track.track_id] = track
    except KeyboardInterrupt:
        pass
    finally:
        perception.detector.close()
    wall = time.perf_counter() - started
    span = 0.0 if first_t is None or last_t is None else last_t - first_t
    summary: dict[str, Any] = {
        "source": source,
        "frames": frames,
        "video_seconds": round(span, 3),
        "processing_fps": round(frames / wall, 1) if wall > 0 else None,
        "faces_classified": perception.faces_classified,
        "tracks_total": len(tracks),
        "most_present_at_once": most_present,
        "tracks": [_track_json(t, first_t or 0.0) for t in sorted(tracks.values(), key=lambda t: t.track_id)],
    }
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        _print_table(summary)


def _frames(source: str, seconds: float) -> Iterator[tuple[np.ndarray, float]]:
    """(RGB image, time in seconds): a file's own timestamps, or the monotonic clock for a camera."""
    import cv2

    is_camera = source.isdigit()
    capture = cv2.VideoCapture(int(source) if is_camera else source)
    if not capture.isOpened():
        typer.echo(f"error: could not open {'camera' if is_camera else 'video'} {source}", err=True)
        raise typer.Exit(2)
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    start = time.monotonic()
    index = 0
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                return
            if is_camera:
                t = time.monotonic()
                if t - start > seconds:
                    return
            else:
                # The file's clock, not the wall clock: files are processed as fast as possible.
                msec = capture.get(cv2.CAP_PROP_POS_MSEC)
                t = msec / 1000.0 if msec > 0 or index == 0 else index / fps
            index += 1
            yield np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)), t
    finally:
        capture.release()


def _track_json(track: Track, origin: float) -> dict[str, Any]:
    def r(value: float | None, digits: int = 2) -> float | None:
        return None if value is None else round(value, digits)

    return {
        "track_id": track.track_id,
        "first_seen_s": r(track.first_seen_mono - origin),
        "last_seen_s": r(track.last_seen_mono - origin),
        "dwell_s": r(track.dwell_s),
        "attention_s": r(track.attention_s),
        "distance_m": r(track.distance_m),
        "age_years": r(track.age_years, 1),
        "age_std_years": r(track.age_std_years, 1),
        "p_female": r(track.p_female, 3),
        "emotion": None if track.emotion is None else track.emotion.value,
        "emotion_probs": None
        if track.emotion_probs is None
        else {e.value: round(p, 3) for e, p in zip(EMOTIONS, track.emotion_probs, strict=True)},
        "p_minor": r(track.p_minor, 3),
        "possible_minor": track.possible_minor,
        "samples": track.samples,
    }


def _print_table(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{summary['tracks_total']} people tracked in {summary['source']}")
    for name in (
        "id",
        "seen (s)",
        "dwell",
        "attention",
        "dist",
        "age",
        "P(female)",
        "emotion",
        "minor?",
        "n",
    ):
        table.add_column(name, justify="left" if name in ("emotion", "seen (s)") else "right", no_wrap=True)
    tracks = summary["tracks"]
    assert isinstance(tracks, list)
    for t in tracks:
        age = "-" if t["age_years"] is None else f"{t['age_years']:.0f} ± {t['age_std_years']:.0f}"
        top = "-"
        if t["emotion_probs"]:
            top = f"{t['emotion']} {t['emotion_probs'][t['emotion']]:.0%}"
        minor = "yes" if t["possible_minor"] else "no"
        if t["p_minor"] is not None:
            minor += f" ({t['p_minor']:.0%})"
        table.add_row(
            str(t["track_id"]),
            f"{t['first_seen_s']:.1f}-{t['last_seen_s']:.1f}",
            f"{t['dwell_s']:.1f} s",
            f"{t['attention_s']:.1f} s",
            "-" if t["distance_m"] is None else f"{t['distance_m']:.1f} m",
            age,
            "-" if t["p_female"] is None else f"{t['p_female']:.2f}",
            top,
            minor,
            str(t["samples"]),
        )
    console = Console(width=max(Console().width, 120))  # piped output would otherwise wrap at 80
    console.print(table)
    console.print(
        f"{summary['frames']} frames ({summary['video_seconds']} s of video) at {summary['processing_fps']} frames/s;"
        f" at most {summary['most_present_at_once']} people at once; {summary['faces_classified']} faces classified."
    )
