"""Generate the sample creatives the demo plays: ``python -m signage.samples [--force]``.

Eight 1280x720 videos, each visibly about one product (moving artwork, a headline, an end card
with the brand: the frames a subject classifier should see), two stills and a standby slide.
Photos that ship in scikit-image are used where one fits (coffee, a cat). When ffmpeg is on the
PATH a short jingle is muxed in, so the videos have sound. Nothing here comes from ../shared.
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from signage.settings import PROJECT_ROOT

WIDTH, HEIGHT, FPS = 1280, 720, 25
Image = np.ndarray
Painter = Callable[[Image, float], None]  # draws the product for progress t in [0, 1]


@dataclass(frozen=True)
class Spec:
    name: str
    headline: str
    tagline: str
    brand: str
    colors: tuple[tuple[int, int, int], tuple[int, int, int]]  # BGR gradient
    seconds: float
    painter: str
    tone_hz: float


def _photo(name: str) -> Image:
    from skimage import data

    rgb = getattr(data, name)()
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


def _gradient(colors: tuple[tuple[int, int, int], tuple[int, int, int]], shift: float) -> Image:
    ramp = (np.linspace(0, 1, WIDTH)[None, :] + 0.3 * math.sin(shift * math.tau)) % 1.0
    ramp = np.abs(ramp * 2 - 1)[..., None]
    top, bottom = np.array(colors[0], float), np.array(colors[1], float)
    row = top * (1 - ramp) + bottom * ramp
    return np.repeat(row, HEIGHT, axis=0).astype(np.uint8)


def _paste(frame: Image, photo: Image, t: float, box: tuple[int, int, int, int]) -> None:
    """Ken-Burns zoom of ``photo`` into ``box`` (x, y, w, h)."""
    x, y, w, h = box
    zoom = 1.0 + 0.25 * t
    ph, pw = photo.shape[:2]
    cw, ch = int(pw / zoom), int(ph / zoom)
    cx, cy = (pw - cw) // 2, (ph - ch) // 2
    frame[y : y + h, x : x + w] = cv2.resize(photo[cy : cy + ch, cx : cx + cw], (w, h))
    cv2.rectangle(frame, (x, y), (x + w, y + h), (255, 255, 255), 6)


def _coffee(frame: Image, t: float) -> None:
    _paste(frame, _photo("coffee"), t, (700, 120, 480, 360))
    for i in range(3):  # rising steam
        yy = int(110 - 60 * ((t * 3 + i / 3) % 1))
        cv2.ellipse(frame, (900 + 40 * i, yy), (14, 30), 0, 0, 360, (240, 240, 240), 3)


def _cat(frame: Image, t: float) -> None:
    _paste(frame, _photo("chelsea"), t, (660, 110, 520, 400))


def _sneaker(frame: Image, t: float) -> None:
    x = int(560 + 260 * math.sin(t * math.pi))
    cv2.ellipse(frame, (x + 180, 420), (210, 70), 0, 180, 360, (40, 40, 220), -1)
    cv2.rectangle(frame, (x, 420), (x + 400, 460), (250, 250, 250), -1)
    cv2.ellipse(frame, (x + 110, 360), (90, 80), 0, 180, 360, (40, 40, 220), -1)
    for i in range(4):
        cv2.line(frame, (x + 70 + 30 * i, 330), (x + 100 + 30 * i, 380), (255, 255, 255), 5)


def _phone(frame: Image, t: float) -> None:
    angle = 12 * math.sin(t * math.tau)
    body = np.zeros((520, 270, 3), np.uint8)
    cv2.rectangle(body, (0, 0), (269, 519), (30, 30, 30), -1)
    hue = int(180 * t) % 180
    screen = np.full((460, 230, 3), (hue, 200, 255), np.uint8)
    body[30:490, 20:250] = cv2.cvtColor(screen, cv2.COLOR_HSV2BGR)
    cv2.circle(body, (135, 505), 9, (90, 90, 90), -1)
    rot = cv2.getRotationMatrix2D((135, 260), angle, 1.0)
    turned = cv2.warpAffine(body, rot, (270, 520))
    mask = turned.sum(axis=2) > 0
    frame[100:620, 850:1120][mask] = turned[mask]


def _car(frame: Image, t: float) -> None:
    x = int(-400 + 1500 * t)
    cv2.rectangle(frame, (0, 560), (WIDTH, 720), (70, 70, 70), -1)
    cv2.rectangle(frame, (x, 420), (x + 420, 520), (30, 30, 200), -1)
    cv2.rectangle(frame, (x + 90, 350), (x + 320, 430), (30, 30, 200), -1)
    cv2.rectangle(frame, (x + 110, 365), (x + 300, 425), (230, 200, 150), -1)
    for wx in (x + 90, x + 330):
        cv2.circle(frame, (wx, 530), 45, (20, 20, 20), -1)
        cv2.circle(frame, (wx, 530), 18, (190, 190, 190), -1)


def _cosmetics(frame: Image, t: float) -> None:
    lift = int(80 * math.sin(t * math.pi))
    cv2.rectangle(frame, (820, 300), (900, 560), (40, 40, 40), -1)
    cv2.rectangle(frame, (830, 220 - lift), (890, 300 - lift), (60, 20, 200), -1)
    cv2.rectangle(frame, (980, 330), (1120, 560), (200, 180, 230), -1)
    cv2.rectangle(frame, (1025, 280), (1075, 330), (60, 160, 200), -1)


def _toys(frame: Image, t: float) -> None:
    colors = [(40, 40, 230), (40, 200, 40), (230, 120, 30), (30, 220, 230)]
    for i, color in enumerate(colors):
        drop = min(1.0, max(0.0, t * 4 - i * 0.6))
        y = int(-120 + (560 - 110 * i + 120) * drop)
        cv2.rectangle(frame, (780 + 25 * (i % 2), y), (900 + 25 * (i % 2), y + 110), color, -1)
    cv2.circle(frame, (1080, 470), 70, (60, 110, 170), -1)  # teddy
    for dx in (-50, 50):
        cv2.circle(frame, (1080 + dx, 400), 28, (60, 110, 170), -1)


def _bank(frame: Image, t: float) -> None:
    cv2.rectangle(frame, (760, 250), (1160, 290), (220, 220, 220), -1)
    pts = np.array([[740, 250], [960, 140], [1180, 250]], np.int32)
    cv2.fillPoly(frame, [pts], (220, 220, 220))
    for i in range(5):
        cv2.rectangle(frame, (780 + 80 * i, 300), (820 + 80 * i, 520), (235, 235, 235), -1)
    coins = int(1 + 6 * t)
    for i in range(coins):
        cv2.ellipse(frame, (640, 600 - 16 * i), (60, 14), 0, 0, 360, (30, 190, 230), -1)


def _holiday(frame: Image, t: float) -> None:
    cv2.rectangle(frame, (640, 470), (WIDTH, HEIGHT), (200, 140, 30), -1)
    cv2.rectangle(frame, (640, 600), (WIDTH, HEIGHT), (140, 210, 240), -1)
    cv2.circle(frame, (1080, int(260 - 120 * t)), 70, (40, 220, 255), -1)
    cv2.line(frame, (820, 600), (850, 380), (40, 80, 120), 16)
    for angle in range(0, 360, 60):
        end = (850 + int(110 * math.cos(math.radians(angle))), 380 + int(50 * math.sin(math.radians(angle))))
        cv2.line(frame, (850, 380), end, (40, 160, 40), 12)


def _beer(frame: Image, t: float) -> None:
    fill = int(300 * min(1.0, t * 1.5))
    cv2.rectangle(frame, (880, 220), (1080, 560), (220, 220, 220), 6)
    cv2.rectangle(frame, (886, 554 - fill), (1074, 554), (20, 160, 230), -1)
    cv2.rectangle(frame, (886, max(226, 524 - fill)), (1074, 554 - fill), (245, 245, 245), -1)


def _pizza(frame: Image, t: float) -> None:
    cv2.circle(frame, (960, 380), 230, (60, 160, 230), -1)
    cv2.circle(frame, (960, 380), 200, (40, 60, 200), -1)
    rng = np.random.default_rng(3)
    for _ in range(12):
        cx, cy = rng.integers(800, 1120), rng.integers(230, 530)
        cv2.circle(frame, (int(cx), int(cy)), 22, (40, 40, 150), -1)


PAINTERS: dict[str, Painter] = {
    "coffee": _coffee, "cat": _cat, "sneaker": _sneaker, "phone": _phone, "car": _car,
    "cosmetics": _cosmetics, "toys": _toys, "bank": _bank, "holiday": _holiday, "beer": _beer,
    "pizza": _pizza,
}  # fmt: skip

VIDEOS: tuple[Spec, ...] = (
    Spec("coffee", "Fresh espresso", "Your morning coffee, ready in 2 minutes", "Bean & Co",
         ((30, 60, 110), (80, 140, 200)), 8, "coffee", 392),
    Spec("sneakers", "Run lighter", "The new Aero running sneakers", "Stride",
         ((200, 120, 40), (250, 200, 120)), 9, "sneaker", 440),
    Spec("phone", "Nova X smartphone", "Brighter screen. Two-day battery.", "Nova Mobile",
         ((60, 20, 20), (160, 80, 60)), 10, "phone", 523),
    Spec("car", "Drive the new Volta", "All-electric family car, test drive today", "Volta Motors",
         ((200, 170, 140), (240, 220, 200)), 8, "car", 330),
    Spec("cosmetics", "Velvet lipstick", "Colour that lasts all day", "Lumiere Beauty",
         ((150, 120, 230), (220, 200, 250)), 7, "cosmetics", 587),
    Spec("toys", "Build it!", "Building blocks and teddies for little hands", "Playwise Toys",
         ((60, 200, 240), (180, 240, 250)), 9, "toys", 659),
    Spec("bank", "Save smarter", "2.5% savings account, no fees", "Harbor Bank",
         ((90, 60, 20), (160, 120, 60)), 8, "bank", 294),
    Spec("holiday", "Sun in December", "Beach holidays from 399", "Blue Lagoon Travel",
         ((230, 180, 90), (250, 230, 180)), 10, "holiday", 349),
    Spec("beer", "Cold lager", "Brewed in town since 1892. 18+ only.", "Old Mill Brewery",
         ((20, 80, 120), (60, 150, 200)), 7, "beer", 262),
)  # fmt: skip
STILLS: tuple[Spec, ...] = (
    Spec("pet-food", "Happy cats", "Premium cat food, now 20% off", "Whiskers",
         ((60, 140, 80), (140, 220, 160)), 1, "cat", 0),
    Spec("pizza", "Lunch deal", "Any pizza + drink 7.99 until 3pm", "Mamma Pizza",
         ((30, 30, 150), (60, 120, 220)), 1, "pizza", 0),
)  # fmt: skip


def _text(frame: Image, text: str, org: tuple[int, int], scale: float, thickness: int) -> None:
    cv2.putText(frame, text, (org[0] + 3, org[1] + 3), cv2.FONT_HERSHEY_DUPLEX, scale, (0, 0, 0), thickness)
    cv2.putText(frame, text, org, cv2.FONT_HERSHEY_DUPLEX, scale, (255, 255, 255), thickness)


def render_frame(spec: Spec, t: float) -> Image:
    """One frame at progress ``t``: artwork and headline, then the brand end card in the last 25%."""
    frame = _gradient(spec.colors, t)
    PAINTERS[spec.painter](frame, t)
    slide = int(min(1.0, t * 4) * 80)
    _text(frame, spec.headline, (slide - 20, 200), 2.0, 4)
    _text(frame, spec.tagline, (60, 280), 0.9, 2)
    if t > 0.75:
        cv2.rectangle(frame, (0, 560), (WIDTH, HEIGHT), (25, 25, 25), -1)
        _text(frame, spec.brand, (60, 650), 1.8, 3)
    return frame


def _jingle(path: Path, seconds: float, base_hz: float) -> None:
    rate = 22050
    t = np.arange(int(seconds * rate)) / rate
    notes = base_hz * np.array([1.0, 1.25, 1.5, 2.0])[(t * 2).astype(int) % 4]
    envelope = np.minimum(1.0, (seconds - t) * 2) * np.minimum(1.0, t * 8)
    samples = (0.25 * np.sin(math.tau * notes * t) * envelope * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())


def write_video(spec: Spec, path: Path) -> None:
    frames = int(spec.seconds * FPS)
    with tempfile.TemporaryDirectory() as tmp:
        silent = Path(tmp) / "video.mp4"
        writer = cv2.VideoWriter(str(silent), cv2.VideoWriter.fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
        for i in range(frames):
            writer.write(render_frame(spec, i / max(frames - 1, 1)))
        writer.release()
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg is None:
            shutil.move(silent, path)
            return
        audio = Path(tmp) / "jingle.wav"
        _jingle(audio, spec.seconds, spec.tone_hz)
        subprocess.run(
            [ffmpeg, "-loglevel", "error", "-y", "-i", str(silent), "-i", str(audio), "-c:v", "copy",
             "-c:a", "aac", "-shortest", str(path)],
            check=True,
        )  # fmt: skip


def write_standby(path: Path) -> None:
    frame = _gradient(((40, 30, 20), (90, 70, 50)), 0.2)
    _text(frame, "Welcome", (470, 330), 3.0, 5)
    _text(frame, "Today's offers are on their way", (330, 430), 1.2, 2)
    cv2.imwrite(str(path), frame)


def generate(media_dir: Path, *, force: bool = False) -> list[Path]:
    """Write every sample that is missing (all of them with ``force``); returns the files written."""
    media_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for spec in VIDEOS:
        path = media_dir / f"{spec.name}.mp4"
        if force or not path.exists():
            write_video(spec, path)
            written.append(path)
    for spec in STILLS:
        path = media_dir / f"{spec.name}.png"
        if force or not path.exists():
            cv2.imwrite(str(path), render_frame(spec, 0.5))
            written.append(path)
    standby = media_dir / "standby.png"
    if force or not standby.exists():
        write_standby(standby)
        written.append(standby)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "ads" / "media")
    parser.add_argument("--force", action="store_true", help="regenerate files that already exist")
    args = parser.parse_args()
    written = generate(args.out, force=args.force)
    print(f"{len(written)} sample file(s) written to {args.out}" if written else "sample ads up to date")


if __name__ == "__main__":
    main()
