"""The installer's view: what the camera sees, as perception sees it, to aim and tilt the camera.

Pure parts, tested without a camera or a window: which faces to mark and how (``face_marks``), the
drawing on a copy of the frame (``draw_view``), and the distances at which this camera's faces are
large enough to classify (``classification_range``), from ``perception.min_face_px_for_attributes``,
the frame width, the camera's field of view and, when ``models/manifest.yaml`` carries them, the
model card's per-face-size figures (``signage evaluate --degrade --record``).

Frames stay in memory: ``draw_view`` returns a new array for the screen and nothing here writes a
file (``signage install-check`` shows it in a window; its ``--screenshot`` is refused for a live
camera).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from classifier.types import FaceObservation
from signage.audience import geometry
from signage.audience.config import TrackerConfig
from signage.camera.base import RGBImage
from signage.domain import AudienceSnapshot, Track

GREEN = (40, 200, 60)  # RGB: large enough to classify
AMBER = (255, 176, 0)  # too small to classify
CYAN = (0, 210, 255)  # head pose inside the attention cone
GREY = (170, 170, 170)  # head pose outside it, or unknown
ARROW_FACE_WIDTHS = 1.5  # the pose arrow's length for a head turned 90 degrees
_FACE_CONDITION = re.compile(r"^face_(\d+)px$")


@dataclass(frozen=True)
class FaceMark:
    """One face as the installer sees it marked; frame pixels."""

    box: tuple[float, float, float, float]  # x, y, width, height
    track_id: int | None  # None: not yet confirmed as a person
    distance_m: float
    classifiable: bool  # wide enough for the attribute model
    yaw_deg: float | None
    pitch_deg: float | None
    in_cone: bool  # the head pose is inside the attention cone
    label: str  # attributes once classified ("F 25-34"), else ""


def face_marks(
    faces: Sequence[tuple[int | None, FaceObservation]],
    snapshot: AudienceSnapshot,
    config: TrackerConfig,
    frame_width_px: int,
) -> tuple[FaceMark, ...]:
    """The marks for this frame's faces (``Tracker.current_faces``) and the tracks they belong to."""
    tracks: Mapping[int, Track] = {t.track_id: t for t in snapshot.tracks}
    marks = []
    for track_id, face in faces:
        track = tracks.get(track_id) if track_id is not None else None
        distance = (
            track.distance_m
            if track is not None and track.distance_m is not None
            else geometry.distance_m(face.width, frame_width_px, config.camera_hfov_deg, config.face_width_m)
        )
        in_cone = (
            face.yaw_deg is not None
            and face.pitch_deg is not None
            and abs(face.yaw_deg) <= config.attention_yaw_deg
            and abs(face.pitch_deg) <= config.attention_pitch_deg
        )
        label = ""
        if track is not None and track.age_band is not None and track.gender is not None:
            label = f"{track.gender.value[0].upper()} {track.age_band.value}"
        marks.append(
            FaceMark(
                box=(face.x, face.y, face.width, face.height),
                track_id=track_id,
                distance_m=distance,
                classifiable=face.width >= config.min_face_px_for_attributes,
                yaw_deg=face.yaw_deg,
                pitch_deg=face.pitch_deg,
                in_cone=in_cone,
                label=label,
            )
        )
    return tuple(marks)


def pose_arrow(
    center: tuple[float, float], length: float, yaw_deg: float, pitch_deg: float
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Where the head points, projected on the image: yaw to the right, pitch up (image y down)."""
    cx, cy = center
    dx = length * math.sin(math.radians(yaw_deg))
    dy = -length * math.sin(math.radians(pitch_deg))
    return (round(cx), round(cy)), (round(cx + dx), round(cy + dy))


def draw_view(
    image: RGBImage, marks: Sequence[FaceMark], hud: Sequence[str], config: TrackerConfig
) -> RGBImage:
    """A copy of ``image`` with each face's box, id, distance, pose arrow and attention cone, and the
    ``hud`` lines at the bottom left; ``image`` itself is not changed."""
    out = np.ascontiguousarray(image.copy())
    height, width = out.shape[:2]
    font = max(0.4, min(0.9, 0.45 * width / 640))  # cv2 font scale: legible from 640 px to 4K
    for mark in marks:
        x, y, w, h = mark.box
        color = GREEN if mark.classifiable else AMBER
        p0, p1 = (round(x), round(y)), (round(x + w), round(y + h))
        center = (x + w / 2, y + h / 2)
        # The attention cone: the arrow's tip stays inside this ellipse while the head is turned
        # within attention_yaw_deg / attention_pitch_deg of the screen.
        reach = ARROW_FACE_WIDTHS * w
        axes = (
            max(1, round(reach * math.sin(math.radians(config.attention_yaw_deg)))),
            max(1, round(reach * math.sin(math.radians(config.attention_pitch_deg)))),
        )
        cv2.ellipse(out, (round(center[0]), round(center[1])), axes, 0, 0, 360, GREY, 1)
        if mark.yaw_deg is not None and mark.pitch_deg is not None:
            start, tip = pose_arrow(center, reach, mark.yaw_deg, mark.pitch_deg)
            cv2.arrowedLine(out, start, tip, CYAN if mark.in_cone else GREY, 2, tipLength=0.25)
        cv2.rectangle(out, p0, p1, color, 2)  # last: the box stays whole over the arrow
        ident = "?" if mark.track_id is None else f"#{mark.track_id}"
        fit = "classify" if mark.classifiable else f"too small ({w:.0f} px)"
        lines = [f"{ident} {mark.distance_m:.1f} m", fit, *([mark.label] if mark.label else [])]
        _text_block(out, lines, (p0[0], p1[1] + 4), color, font * 0.9)
    _text_block(out, hud, (6, height), (255, 255, 255), font)  # bottom left: clamped into the frame
    return out


def _text_block(
    image: RGBImage, lines: Sequence[str], origin: tuple[int, int], color: tuple[int, int, int], scale: float
) -> None:
    """Lines of text on a dark band, so they read on any background; kept inside the frame."""
    if not lines:
        return
    font, thickness = cv2.FONT_HERSHEY_SIMPLEX, 1
    sizes = [cv2.getTextSize(line, font, scale, thickness)[0] for line in lines]
    line_h = max(s[1] for s in sizes) + 6
    block_w = max(s[0] for s in sizes) + 8
    height, width = image.shape[:2]
    x = min(max(0, origin[0]), max(0, width - block_w))
    y = min(max(0, origin[1]), max(0, height - line_h * len(lines) - 2))
    band = image[y : y + line_h * len(lines) + 2, x : x + block_w]
    band[:] = (band * 0.35).astype(np.uint8)
    for i, line in enumerate(lines):
        baseline = y + (i + 1) * line_h - 3
        cv2.putText(image, line, (x + 4, baseline), font, scale, color, thickness, cv2.LINE_AA)


# --- the expected classification range ----------------------------------------------------------


@dataclass(frozen=True)
class SizeFigure:
    """The model card's figures for faces ``face_px`` wide, and how far away such a face stands here."""

    face_px: float
    distance_m: float
    gender_accuracy: float | None
    age_mae: float | None


@dataclass(frozen=True)
class ClassificationRange:
    frame_width_px: int
    hfov_deg: float
    face_width_m: float
    min_face_px: float
    max_distance_m: float  # faces at least min_face_px wide up to here
    figures: tuple[SizeFigure, ...]  # from the model card; empty when it has no per-size figures
    figures_source: str

    def lines(self) -> list[str]:
        view_w = 2 * self.max_distance_m * math.tan(math.radians(self.hfov_deg) / 2)
        out = [
            f"Camera: {self.frame_width_px} px wide, {self.hfov_deg:g} degree field of view "
            f"(perception.camera_hfov_deg), faces taken as {self.face_width_m * 100:g} cm wide.",
            f"Faces are classified up to {self.max_distance_m:.1f} m from the camera "
            f"(at least {self.min_face_px:g} px wide: perception.min_face_px_for_attributes); "
            f"at that distance the picture is {view_w:.1f} m wide.",
        ]
        for f in self.figures:
            gender = "-" if f.gender_accuracy is None else f"{100 * f.gender_accuracy:.1f} %"
            age = "-" if f.age_mae is None else f"{f.age_mae:.1f} years"
            out.append(
                f"  a {f.face_px:g} px face stands {f.distance_m:.1f} m away: gender {gender}, age error {age}"
            )
        out.append(self.figures_source)
        return out


def degrade_figures(manifest: Mapping[str, Any]) -> dict[float, tuple[float | None, float | None]]:
    """face px -> (gender accuracy, age MAE) from the manifest's ``held_out_degraded`` conditions."""
    try:
        conditions = manifest["models"]["face_attributes"]["metrics"]["held_out_degraded"]["conditions"]
    except (KeyError, TypeError):
        return {}
    out: dict[float, tuple[float | None, float | None]] = {}
    if not isinstance(conditions, Mapping):
        return out
    for name, figures in conditions.items():
        match = _FACE_CONDITION.match(str(name))
        if match and isinstance(figures, Mapping):
            gender, age = figures.get("gender_accuracy"), figures.get("age_mae")
            out[float(match.group(1))] = (
                float(gender) if isinstance(gender, int | float) else None,
                float(age) if isinstance(age, int | float) else None,
            )
    return out


def read_degrade_figures(models_dir: Path) -> dict[float, tuple[float | None, float | None]]:
    """The per-size figures in ``models_dir/manifest.yaml``; empty when there are none or it cannot be read."""
    from classifier.attributes.manifest import ModelError, read_manifest

    try:
        return degrade_figures(read_manifest(models_dir))
    except ModelError:
        return {}


def classification_range(
    config: TrackerConfig,
    frame_width_px: int,
    figures: Mapping[float, tuple[float | None, float | None]],
) -> ClassificationRange:
    hfov, face_m = config.camera_hfov_deg, config.face_width_m
    sizes = tuple(
        SizeFigure(px, geometry.distance_m(px, frame_width_px, hfov, face_m), *figures[px])
        for px in sorted(figures)
    )
    source = (
        "Per-size figures: the model card's degrade evaluation (models/manifest.yaml, held_out_degraded)."
        if sizes
        else "The model card has no per-size figures (no `signage evaluate --degrade --record` yet): "
        "the range comes from perception.min_face_px_for_attributes only."
    )
    return ClassificationRange(
        frame_width_px=frame_width_px,
        hfov_deg=hfov,
        face_width_m=face_m,
        min_face_px=config.min_face_px_for_attributes,
        max_distance_m=geometry.distance_m(config.min_face_px_for_attributes, frame_width_px, hfov, face_m),
        figures=sizes,
        figures_source=source,
    )
