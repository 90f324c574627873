"""The installer's view, pure parts: the distance maths, the expected range, the marks and the drawing."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from classifier.types import FaceObservation
from signage.audience import geometry
from signage.audience.config import TrackerConfig
from signage.camera.base import NoCamera
from signage.camera.factory import open_source
from signage.cli import app
from signage.cli.install import source_kind
from signage.domain import AudienceSnapshot, Track
from signage.install_check import (
    AMBER,
    CYAN,
    GREEN,
    FaceMark,
    classification_range,
    degrade_figures,
    draw_view,
    face_marks,
    pose_arrow,
)
from signage.settings import CameraSettings

CONFIG = TrackerConfig()  # 60 degree view, 16 cm faces, 24 px to classify, cone 30 x 20 degrees


def test_distance_from_face_width_is_the_pinhole_formula() -> None:
    # distance = face width / (2 tan(hfov / 2) * face_px / frame_px)
    for face_px, frame_px, hfov, face_m in ((64, 640, 60, 0.16), (30, 1920, 70, 0.15), (200, 1280, 90, 0.15)):
        expected = face_m / (2 * math.tan(math.radians(hfov) / 2) * face_px / frame_px)
        assert geometry.distance_m(face_px, frame_px, hfov, face_m) == pytest.approx(expected)
        assert geometry.face_px_at(expected, frame_px, hfov, face_m) == pytest.approx(face_px)
    # Twice as wide, half as far; a face on the axis is 0 m to the side, one at the edge tan(hfov/2) * d.
    assert geometry.distance_m(32, 640, 60, 0.16) == pytest.approx(2 * geometry.distance_m(64, 640, 60, 0.16))
    assert geometry.lateral_m(320, 640, 60, 2.0) == 0.0
    assert geometry.lateral_m(640, 640, 60, 2.0) == pytest.approx(2.0 * math.tan(math.radians(30)))
    assert geometry.lateral_m(0, 640, 60, 2.0) == pytest.approx(-2.0 * math.tan(math.radians(30)))
    with pytest.raises(ValueError):
        geometry.distance_m(0, 640, 60, 0.16)
    with pytest.raises(ValueError):
        geometry.focal_px(640, 180)


def test_the_range_follows_the_minimum_face_size_the_resolution_and_the_field_of_view() -> None:
    vga = classification_range(CONFIG, 640, {})
    assert vga.max_distance_m == pytest.approx(0.16 / (2 * math.tan(math.radians(30)) * 24 / 640))  # 3.69 m
    assert classification_range(CONFIG, 1920, {}).max_distance_m == pytest.approx(3 * vga.max_distance_m)
    wide = TrackerConfig(camera_hfov_deg=90.0)
    assert classification_range(wide, 640, {}).max_distance_m < vga.max_distance_m
    text = "\n".join(vga.lines())
    assert "up to 3.7 m" in text and "24 px" in text
    assert "no per-size figures" in text and "min_face_px_for_attributes only" in text


def test_the_model_cards_degrade_figures_give_a_distance_per_face_size() -> None:
    manifest = {
        "models": {
            "face_attributes": {
                "metrics": {
                    "held_out_degraded": {
                        "conditions": {
                            "clean": {"gender_accuracy": 0.92, "age_mae": 5.1},
                            "face_24px": {"gender_accuracy": 0.80, "age_mae": 7.9},
                            "face_48px": {"gender_accuracy": 0.90, "age_mae": 5.6},
                            "store_32px": {"gender_accuracy": 0.85, "age_mae": 6.6},
                        }
                    }
                }
            }
        }
    }
    figures = degrade_figures(manifest)
    assert figures == {24.0: (0.80, 7.9), 48.0: (0.90, 5.6)}
    expected = classification_range(CONFIG, 640, figures)
    assert [f.face_px for f in expected.figures] == [24.0, 48.0]
    assert [f.distance_m for f in expected.figures] == pytest.approx([3.695, 1.848], abs=1e-3)
    text = "\n".join(expected.lines())
    assert "a 48 px face stands 1.8 m away: gender 90.0 %, age error 5.6 years" in text
    assert "degrade evaluation" in text
    assert degrade_figures({"models": {"face_attributes": {"metrics": {}}}}) == {}


def face(x: float, width: float, yaw: float | None = 0.0, pitch: float | None = 0.0) -> FaceObservation:
    return FaceObservation(x=x, y=100.0, width=width, height=width, score=0.9, yaw_deg=yaw, pitch_deg=pitch)


def test_marks_say_which_faces_are_large_enough_and_which_look_at_the_screen() -> None:
    track = Track(4, 0.0, 1.0, 1.0, 0.5, True, distance_m=2.5, age_years=30.0, p_female=0.9)
    snapshot = AudienceSnapshot(1.0, True, (track,))
    marks = face_marks(
        [(4, face(100, 40)), (None, face(400, 20, yaw=50.0)), (9, face(500, 24, yaw=None, pitch=None))],
        snapshot,
        CONFIG,
        640,
    )
    near, small, unposed = marks
    assert (near.track_id, near.distance_m, near.classifiable, near.in_cone, near.label) == (
        4, 2.5, True, True, "F 25-34",
    )  # fmt: skip
    assert small.track_id is None and not small.classifiable and not small.in_cone
    assert small.distance_m == pytest.approx(
        geometry.distance_m(20, 640, 60, 0.16)
    )  # no track: from its width
    assert unposed.classifiable and not unposed.in_cone  # exactly the minimum; no pose, no attention


def test_the_drawing_marks_boxes_green_or_amber_and_points_the_head_arrow() -> None:
    frame = np.full((480, 640, 3), 90, np.uint8)
    before = frame.copy()
    marks = (
        FaceMark((100, 100, 60, 60), 1, 1.5, True, 40.0, 0.0, False, ""),  # turned to the image right
        FaceMark((400, 120, 20, 20), None, 4.4, False, None, None, False, ""),
    )
    out = draw_view(frame, marks, ["INSTALL CHECK"], CONFIG)
    assert np.array_equal(frame, before)  # the camera frame itself is not drawn on
    assert tuple(out[130, 100]) == GREEN and tuple(out[100, 130]) == GREEN  # left and top edges
    assert tuple(out[130, 160]) == GREEN
    assert tuple(out[130, 400]) == AMBER and tuple(out[140, 420]) == AMBER
    assert tuple(out[300, 300]) == (90, 90, 90)  # away from every mark: untouched
    start, tip = pose_arrow((130, 130), 1.5 * 60, 40.0, 0.0)
    assert tip[0] > start[0] and tip[1] == start[1]
    grey_arrow = np.all(out[125:136, 140:190] == (170, 170, 170), axis=-1)  # outside the cone: grey
    assert grey_arrow.sum() > 20
    inside = draw_view(frame, (FaceMark((100, 100, 60, 60), 1, 1.5, True, 10.0, 5.0, True, ""),), [], CONFIG)
    assert np.all(inside[100:160, 100:160] == CYAN, axis=-1).sum() > 10


def test_what_is_live_and_what_may_be_screenshot() -> None:
    settings = CameraSettings()
    assert source_kind("simulated:3", open_source("simulated:3", settings)) == "generated"
    assert source_kind("0", open_source("0", settings)) == "live"
    assert source_kind("rtsp://cam/1", open_source("rtsp://cam/1", settings)) == "live"
    assert source_kind("clip.mp4", open_source("clip.mp4", settings)) == "file"
    assert source_kind("none", NoCamera()) == "none"
    webcam = open_source("auto", settings, find=lambda s: open_source("0", s))
    assert source_kind("auto", webcam) == "live"


def test_a_screenshot_of_a_live_camera_is_refused_in_one_sentence(tmp_path: Path) -> None:
    shot = tmp_path / "view.png"
    result = CliRunner().invoke(app, ["install-check", "--camera", "0", "--screenshot", str(shot)])
    assert result.exit_code == 2
    assert "refused for a live camera" in result.output and "never records" in result.output
    assert not shot.exists()
    result = CliRunner().invoke(app, ["install-check", "--camera", "none"])
    assert result.exit_code == 2 and "no picture to show" in result.output
