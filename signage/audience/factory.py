"""Build the production perception from the settings: MediaPipe faces, our model, the tracker.

The player (``build_perception_stage``), ``signage perceive`` and ``signage install-check`` all build
it here, so the three see people the same way.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from signage.audience.config import TrackerConfig
from signage.audience.ports import LatestFrame
from signage.audience.stage import Perception, PerceptionStage, SceneCut
from signage.audience.tracker import Tracker
from signage.settings import PROJECT_ROOT, PerceptionSettings, Settings

if TYPE_CHECKING:
    from classifier.attributes import AttributeModel


def load_attribute_model(models_dir: Path | None = None, estimate_emotion: bool = True) -> AttributeModel:
    """The age/gender/emotion model of ``models_dir`` (default ``models/``), on one torch thread.

    With ``estimate_emotion`` off the separate emotion network is not loaded (nor run). A missing or
    corrupt model raises ``ModelError`` (one sentence).
    """
    import torch

    from classifier.attributes import AttributeModel

    # The player, the camera and MediaPipe share two cores: one torch thread keeps the model from
    # starving them (the model is benchmarked batched on one thread).
    torch.set_num_threads(1)
    return AttributeModel.load(models_dir or PROJECT_ROOT / "models", with_emotion_net=estimate_emotion)


def build_perception(config: PerceptionSettings, model: AttributeModel | None) -> Perception:
    """Detector, tracker and scene-cut detector from ``config``; without ``model`` nobody is classified.

    The caller owns the detector: close it (``perception.detector.close()``) on the thread that used it.
    """
    from classifier.faces import MediaPipeFaces

    detector = MediaPipeFaces(min_score=config.min_face_score, use_mesh=config.use_face_mesh)
    return Perception(
        detector,
        Tracker(TrackerConfig.from_settings(config)),
        model,
        scene_cut=SceneCut(config.scene_cut_threshold),
    )


def build_perception_stage(
    settings: Settings,
    camera: LatestFrame,
    stop: threading.Event,
    models_dir: Path | None = None,
    paused: threading.Event | None = None,
) -> PerceptionStage:
    """The stage, not yet started; it idles while ``paused`` is set (the store is closed). A missing
    or corrupt model raises ``ModelError`` (one sentence)."""
    model = load_attribute_model(models_dir, settings.perception.estimate_emotion)
    perception = build_perception(settings.perception, model)
    return PerceptionStage(
        camera, perception, stop, stale_after_s=settings.camera.frozen_after_s, paused=paused
    )
