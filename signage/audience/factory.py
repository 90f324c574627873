"""Build the production perception stage from the settings: MediaPipe faces, our model, the tracker."""

from __future__ import annotations

import threading
from pathlib import Path

from signage.audience.config import TrackerConfig
from signage.audience.ports import LatestFrame
from signage.audience.stage import Perception, PerceptionStage, SceneCut
from signage.audience.tracker import Tracker
from signage.settings import PROJECT_ROOT, Settings


def build_perception_stage(
    settings: Settings, camera: LatestFrame, stop: threading.Event, models_dir: Path | None = None
) -> PerceptionStage:
    """The stage, not yet started. A missing or corrupt model raises ``ModelError`` (one sentence)."""
    import torch

    from classifier.attributes import AttributeModel
    from classifier.faces import MediaPipeFaces

    # The player, the camera and MediaPipe share two cores: one torch thread keeps the model from
    # starving them (the model is benchmarked batched on one thread).
    torch.set_num_threads(1)
    model = AttributeModel.load(models_dir or PROJECT_ROOT / "models")
    config = settings.perception
    detector = MediaPipeFaces(min_score=config.min_face_score, use_mesh=config.use_face_mesh)
    perception = Perception(
        detector,
        Tracker(TrackerConfig.from_settings(config)),
        model,
        scene_cut=SceneCut(config.scene_cut_threshold),
    )
    return PerceptionStage(camera, perception, stop, stale_after_s=settings.camera.frozen_after_s)
