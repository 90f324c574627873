"""The perception stage: newest camera frame in, newest ``AudienceSnapshot`` out, on its own thread.

Latest frame wins: a frame that arrives while the previous one is being processed overwrites it
in the camera's one-slot buffer, and is counted here as dropped. Frames and crops live only in
local variables of one ``process`` call; only the snapshot (per-track attributes) leaves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from classifier.faces import FaceDetector, RGBImage
from classifier.types import FaceObservation
from signage.audience.ports import AttributeModelLike, LatestFrame
from signage.audience.tracker import Tracker
from signage.domain import AudienceSnapshot

log = logging.getLogger(__name__)

PAUSED_CHECK_S = 0.25  # how often a paused stage looks whether it may go on

Cropper = Callable[[RGBImage, FaceObservation], np.ndarray]


def aligned_crop(image: RGBImage, face: FaceObservation) -> np.ndarray:
    """The training crop (``classifier.crop.crop_face``), so the model sees what it was trained on."""
    from classifier.crop import crop_face

    return crop_face(image, (face.x, face.y, face.width, face.height), face.right_eye, face.left_eye)


class SceneCut:
    """Notices when the whole view changes at once (a camera knocked, a video cut or loop).

    Compares 32x18 grey thumbnails of consecutive frames; people walking change a few percent of
    the view, a cut changes most of it (Hamilton clip: under 13 grey levels within shots, 27-30
    at its cuts). The thumbnail is all that is kept, and only until the next frame.
    """

    def __init__(self, threshold: float = 20.0) -> None:
        self.threshold = threshold
        self._previous: np.ndarray | None = None

    def __call__(self, image: RGBImage) -> bool:
        import cv2

        grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
        thumb = cv2.resize(grey, (32, 18), interpolation=cv2.INTER_AREA).astype(np.int16)
        cut = self._previous is not None and float(np.abs(thumb - self._previous).mean()) > self.threshold
        self._previous = thumb
        return self.threshold > 0 and cut


class Perception:
    """One frame's work, synchronous: detect, track, classify the faces that are due."""

    def __init__(
        self,
        detector: FaceDetector,
        tracker: Tracker,
        model: AttributeModelLike | None = None,
        cropper: Cropper = aligned_crop,
        scene_cut: SceneCut | None = None,
    ) -> None:
        self.scene_cut = scene_cut or SceneCut()
        self.detector = detector
        self.tracker = tracker
        self.model = model
        self.cropper = cropper
        self.faces_classified = 0

    def process(self, image: RGBImage, now_mono: float) -> AudienceSnapshot:
        faces = self.detector.detect(image)
        if self.scene_cut(image):
            self.tracker.end_all(now_mono)
        snapshot = self.tracker.update(faces, now_mono, frame_width_px=int(image.shape[1]))
        if self.model is None:
            return snapshot
        requests = self.tracker.due_for_attributes(now_mono)
        if not requests:
            return snapshot
        crops = np.stack([self.cropper(image, r.observation) for r in requests])
        answers = self.model.predict(crops)  # one batch: the model's cost is per call as much as per face
        if len(answers) != len(requests):
            raise ValueError(f"the attribute model returned {len(answers)} answers for {len(requests)} faces")
        for request, attributes in zip(requests, answers, strict=True):
            try:
                self.tracker.add_attributes(request.track_id, attributes, now_mono)
                self.faces_classified += 1
            except ValueError as exc:
                log.warning("attribute estimate for track %d ignored: %s", request.track_id, exc)
        return self.tracker.snapshot(now_mono)


@dataclass(frozen=True)
class PerceptionStats:
    online: bool
    frames_processed: int
    frames_dropped: int  # camera frames never processed because a newer one had replaced them
    faces_classified: int
    errors: int


class PerceptionStage:
    """Runs ``Perception`` on the camera's newest frame until ``stop`` is set.

    While ``paused`` is set (the store is closed) no frame is processed and the audience is unknown;
    the thread only looks at the event a few times a second.
    """

    def __init__(
        self,
        camera: LatestFrame,
        perception: Perception,
        stop: threading.Event,
        idle_s: float = 0.005,
        stale_after_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        paused: threading.Event | None = None,
    ) -> None:
        self._camera = camera
        self._paused = paused
        self._was_paused = False
        self._perception = perception
        self._stop = stop
        self._idle_s = idle_s
        self._stale_after_s = stale_after_s
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot = AudienceSnapshot.unknown(clock())
        self._thread: threading.Thread | None = None
        self._last_seq: int | None = None
        self._online = False
        self._failing = False
        self._processed = 0
        self._dropped = 0
        self._errors = 0

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the perception stage is already started")
        self._thread = threading.Thread(target=self._run, name="perception", daemon=True)
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def snapshot(self) -> AudienceSnapshot:
        with self._lock:
            return self._snapshot

    def stats(self) -> PerceptionStats:
        with self._lock:
            return PerceptionStats(
                online=self._online,
                frames_processed=self._processed,
                frames_dropped=self._dropped,
                faces_classified=self._perception.faces_classified,
                errors=self._errors,
            )

    def _run(self) -> None:
        worked = False
        # Straight on to the next frame after work; a short nap only when there was nothing new.
        try:
            while not self._stop.wait(0.0 if worked else self._idle_s):
                if self._pause_now():
                    self._stop.wait(PAUSED_CHECK_S)
                    worked = False
                    continue
                worked = self.step()
        finally:
            # MediaPipe graphs are closed on the thread that ran them.
            self._perception.detector.close()
        log.info("perception stopped after %d frames (%d dropped)", self._processed, self._dropped)

    def _pause_now(self) -> bool:
        """Whether to stay paused; the audience becomes unknown as the pause begins."""
        paused = self._paused is not None and self._paused.is_set()
        if paused and not self._was_paused:
            log.info("perception paused: the audience is unknown until it resumes")
            with self._lock:
                self._online = False
                self._snapshot = AudienceSnapshot.unknown(self._clock())
        elif not paused and self._was_paused:
            log.info("perception resumed")
            self._last_seq = None  # frames missed while paused were not dropped
        self._was_paused = paused
        return paused

    def step(self) -> bool:
        """Process the newest frame if there is a new one; True if a frame was processed."""
        frame = self._camera.latest()
        now = self._clock()
        if frame is None or now - frame.captured_mono > self._stale_after_s:
            self._set_online(False, now)
            return False
        if self._last_seq is not None and frame.seq <= self._last_seq:
            return False
        dropped = 0 if self._last_seq is None else frame.seq - self._last_seq - 1
        self._last_seq = frame.seq
        try:
            snapshot = self._perception.process(frame.image, frame.captured_mono)
        except Exception as exc:  # one bad frame must not stop perception; the next may be fine
            with self._lock:
                self._errors += 1
                self._dropped += dropped
            if not self._failing:
                log.warning("perception failed on frame %d: %s", frame.seq, exc)
                self._failing = True
            return True
        if self._failing:
            log.info("perception recovered at frame %d", frame.seq)
            self._failing = False
        with self._lock:
            self._snapshot = snapshot
            self._processed += 1
            self._dropped += dropped
        self._set_online(True, now)
        return True

    def _set_online(self, online: bool, now: float) -> None:
        if online != self._online:
            log.info(
                "perception %s",
                "sees the camera: audience known" if online else "lost the camera: audience unknown",
            )
        with self._lock:
            self._online = online
            if not online:
                self._snapshot = AudienceSnapshot.unknown(now)
