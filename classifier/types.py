"""What the ML package hands to the runtime: plain frozen dataclasses, no MediaPipe or torch types."""

from __future__ import annotations

from dataclasses import dataclass

Point = tuple[float, float]  # pixels, (x, y)


@dataclass(frozen=True)
class FaceObservation:
    """One face in one frame, in the frame's pixel coordinates."""

    x: float
    y: float
    width: float
    height: float
    score: float
    right_eye: Point | None = None  # the person's right eye (image left)
    left_eye: Point | None = None
    yaw_deg: float | None = None  # 0 = facing the camera; positive = turned to the image right
    pitch_deg: float | None = None  # positive = looking up

    @property
    def center(self) -> Point:
        return (self.x + self.width / 2.0, self.y + self.height / 2.0)


@dataclass(frozen=True)
class FaceAttributes:
    """The attribute model's calibrated estimate for one face crop."""

    age_years: float
    age_std_years: float  # predicted spread (aleatoric), years
    p_female: float
    emotion_probs: tuple[float, ...]  # angry, disgust, fear, happy, neutral, sad, surprise
