"""The tracker's knobs: the operator's (from ``settings.perception``) and the geometric ones."""

from __future__ import annotations

from dataclasses import dataclass, fields

from signage.settings import PerceptionSettings


@dataclass(frozen=True)
class TrackerConfig:
    attention_yaw_deg: float = 30.0
    attention_pitch_deg: float = 20.0
    minor_probability_threshold: float = 0.2
    track_expiry_s: float = 2.0
    reentry_window_s: float = 10.0
    confirm_hits: int = 3
    classify_interval_s: float = 0.1
    reclassify_interval_s: float = 2.0
    confident_samples: int = 5
    confident_probability: float = 0.9
    max_samples_to_confidence: int = 15
    min_face_px_for_attributes: float = 24.0
    max_faces_per_batch: int = 4
    unclassified_is_possible_minor: bool = True
    emotion_half_life_s: float = 2.0
    estimate_emotion: bool = True  # False: emotion_probs stay None on every track
    camera_hfov_deg: float = 60.0
    face_width_m: float = 0.16
    # Geometry and statistics, not operator policy: not in the settings file.
    max_jump_widths: float = 1.0  # how far a face may move between consecutive frames, in face widths
    gate_growth_widths_per_s: float = 2.0  # the match gate widens while a face is unseen
    reentry_jump_widths: float = 2.5  # how near where they left a returning person must reappear
    max_size_ratio: float = 1.8  # a face this much bigger or smaller is someone else
    # ...but from one frame to the next a face barely changes size (detector jitter); the allowance
    # widens to ``max_size_ratio`` over a second unseen. Catches one face replacing another in place.
    max_frame_size_ratio: float = 1.3
    tentative_timeout_s: float = 0.5  # an unconfirmed track unseen this long was a false detection
    attention_max_gap_s: float = 0.5  # attention is not credited across longer gaps
    watching_timeout_s: float = 0.5  # unseen longer than this: not counted as watching now
    # Faces turned further are not classified. From `signage evaluate --degrade` on the held-out
    # UTKFace faces (models/MODEL_CARD.md): gender holds within 3 points of frontal up to 30 degrees
    # of yaw, and beyond that the data has too few faces to say; so does the width limit of 24 px
    # (perception.min_face_px_for_attributes), where gender drops 1.7 points and age 0.9 years.
    max_attribute_yaw_deg: float = 30.0
    sample_correlation: float = 0.5  # error correlation between frames of one person (see pooling)

    @classmethod
    def from_settings(cls, settings: PerceptionSettings) -> TrackerConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in settings.model_dump().items() if k in names})
