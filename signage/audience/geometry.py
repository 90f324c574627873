"""Where a face is, in metres, from where it is in the frame: a pinhole camera and an average face.

A face ``face_px`` wide in a frame ``frame_px`` wide, seen by a camera whose horizontal field of view
is ``hfov_deg``, is ``distance = focal * face_width_m / face_px`` away, where the focal length in
pixels is ``focal = frame_px / (2 tan(hfov / 2))``; equivalently ``face_width_m / (2 tan(hfov / 2)
* face_px / frame_px)``. Its centre ``cx`` pixels from the left lies ``(cx - frame_px / 2) / focal *
distance`` metres to the side of the camera's axis (positive: the image's right). The tracker, the
installer view and the floor-occupancy grid all use these functions, so they agree.
"""

from __future__ import annotations

import math


def focal_px(frame_px: float, hfov_deg: float) -> float:
    """The focal length in pixels of a camera ``frame_px`` wide with ``hfov_deg`` of view."""
    if frame_px <= 0 or not 0 < hfov_deg < 180:
        raise ValueError(
            f"need a frame width > 0 and a field of view in (0, 180), got {frame_px}, {hfov_deg}"
        )
    return frame_px / (2.0 * math.tan(math.radians(hfov_deg) / 2.0))


def distance_m(face_px: float, frame_px: float, hfov_deg: float, face_width_m: float) -> float:
    """How far a face ``face_px`` wide stands from the camera."""
    if face_px <= 0:
        raise ValueError(f"a face is wider than 0 px, got {face_px}")
    return focal_px(frame_px, hfov_deg) * face_width_m / face_px


def face_px_at(distance: float, frame_px: float, hfov_deg: float, face_width_m: float) -> float:
    """How wide (pixels) a face ``distance`` metres away appears: the inverse of ``distance_m``."""
    if distance <= 0:
        raise ValueError(f"a distance is more than 0 m, got {distance}")
    return focal_px(frame_px, hfov_deg) * face_width_m / distance


def lateral_m(center_x_px: float, frame_px: float, hfov_deg: float, distance: float) -> float:
    """Metres to the side of the camera's axis (positive: the image's right) at ``distance``."""
    return (center_x_px - frame_px / 2.0) / focal_px(frame_px, hfov_deg) * distance
