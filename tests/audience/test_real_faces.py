"""Perception end to end with real MediaPipe on real photos (shipped in dependencies), fake model."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from matplotlib import cbook
from matplotlib.image import imread

from classifier.faces import MediaPipeFaces
from signage.audience import FakeAttributeModel, Perception, Tracker


def _canvas() -> np.ndarray:
    from skimage import data

    grace = np.asarray(imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))))[
        60:420, 110:430, :3
    ]
    astronaut = data.astronaut()[10:260, 110:340]
    canvas = np.full((480, 640, 3), 90, dtype=np.uint8)
    for (x, y, width), face in zip(
        [(20, 120, 200), (250, 60, 170), (450, 180, 150)], [grace, astronaut, grace[:, ::-1]], strict=True
    ):
        height = round(face.shape[0] * width / face.shape[1])
        canvas[y : y + height, x : x + width] = cv2.resize(np.ascontiguousarray(face), (width, height))[
            : 480 - y
        ]
    return canvas


def test_three_people_are_three_stable_watching_tracks() -> None:
    canvas = _canvas()
    detector = MediaPipeFaces()
    model = FakeAttributeModel()
    perception = Perception(detector, Tracker(), model)
    try:
        for i in range(30):
            frame = np.ascontiguousarray(
                np.roll(canvas, (round(3 * np.sin(i / 4)), 2 * (i % 5)), axis=(0, 1))
            )
            snapshot = perception.process(frame, i / 30)
    finally:
        detector.close()
    assert [t.track_id for t in snapshot.tracks] == [1, 2, 3]
    assert snapshot.watching == 3
    assert all(t.samples > 0 for t in snapshot.tracks)
    assert model.faces < 3 * 30  # classification throttled per person
    assert model.batches[0] == 3  # the first batch holds all three faces
    # Distance follows face size: the faces are about 127, 90 and 76 px wide (ratio 1.67 far to near).
    distances = sorted(t.distance_m for t in snapshot.tracks if t.distance_m is not None)
    assert len(distances) == 3
    assert 0.5 < distances[0] < distances[-1] < 2.0
    assert distances[-1] / distances[0] == pytest.approx(127 / 76, rel=0.2)
