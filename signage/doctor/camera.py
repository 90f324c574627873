"""The doctor's camera check: open the configured source and read a few frames within a timeout.

Frames are looked at (their size) and dropped at once; nothing is kept, shown or written.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import cv2

from signage.camera.base import FrameSource, SourceError
from signage.camera.factory import find_webcam, open_source
from signage.camera.simulated import SimulatedSource
from signage.doctor.result import Check, Level
from signage.settings import CameraSettings

FRAMES = 5


def _read_frames(source: FrameSource, count: int, result: dict[str, object]) -> None:
    try:
        source.open()
        sizes = set()
        started = time.monotonic()
        for _ in range(count):
            image = source.read()
            if image is None:
                result["error"] = f"{source.name} opened but delivered no frame"
                return
            sizes.add(f"{image.shape[1]}x{image.shape[0]}")
            del image  # only its size is looked at
        elapsed = time.monotonic() - started
        result["ok"] = f"{source.name}: {count} frames ({', '.join(sorted(sizes))}) in {elapsed:.1f} s"
    except SourceError as exc:
        result["error"] = str(exc)
    finally:
        source.close()


def probe_camera(
    settings: CameraSettings,
    where: str,
    timeout_s: float,
    find: Callable[[CameraSettings], FrameSource | None] = find_webcam,
) -> Check:
    fix = f"set {where} to the camera: its device number (ls /dev/video*), an rtsp:// URL or a video file"
    spec = settings.source.strip().lower()
    if spec == "none":
        return Check("camera", Level.FAIL, "no camera (camera.source: none): the audience is unknown", fix)
    if spec.startswith("simulated"):
        return Check(
            "camera", Level.WARN, "the simulated scene, not a camera: fine for a demo, not a store", fix
        )
    previous = cv2.getLogLevel()
    # Silent while probing: the check's own line says what failed; OpenCV's native lines for a device
    # that is not there ("[ERROR:0@8.4] global obsensor_uvc_stream_channel.cpp:158 ... Camera index
    # out of range") would land on the console above the doctor's report and say nothing more.
    cv2.setLogLevel(0)
    try:
        source = open_source(settings.source, settings, find=find)
        if isinstance(source, SimulatedSource):  # auto found no webcam
            return Check(
                "camera",
                Level.FAIL,
                "camera.source is auto and no webcam opens: the audience would be simulated",
                fix,
            )
        result: dict[str, object] = {}
        reader = threading.Thread(
            target=_read_frames, args=(source, FRAMES, result), name="doctor-camera", daemon=True
        )
        reader.start()
        reader.join(timeout_s)
    except SourceError as exc:
        return Check("camera", Level.FAIL, str(exc), fix)
    finally:
        cv2.setLogLevel(previous)
    if "ok" in result:
        return Check("camera", Level.OK, str(result["ok"]))
    if "error" in result:
        return Check("camera", Level.FAIL, str(result["error"]), fix)
    return Check(
        "camera",
        Level.FAIL,
        f"{source.name}: no frame within {timeout_s:g} s",
        f"check the cable or the stream; {fix}",
    )
