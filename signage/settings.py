"""Device settings (``signage.yaml``): everything optional, defaults built in.

Relative paths in the file are resolved against the file's own folder, so a settings file can
be moved together with its data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork, field_validator

from signage.yamlconf import load_model

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CameraSettings(Strict):
    # "auto": the first webcam if one opens, else the simulated scene. Also: "simulated", "none",
    # a device index ("0"), a video file path, or an rtsp:// / http:// URL.
    source: Annotated[str, Field(min_length=1)] = "auto"
    width: Annotated[int, Field(gt=0)] = 640
    height: Annotated[int, Field(gt=0)] = 480
    fps: Annotated[float, Field(gt=0, le=120)] = 30.0
    frozen_after_s: Annotated[float, Field(gt=0)] = 5.0
    reconnect_max_s: Annotated[float, Field(gt=0)] = 30.0
    reconnect_initial_s: Annotated[float, Field(gt=0)] = 0.5  # first retry delay, doubled up to the max


class DisplaySettings(Strict):
    fullscreen: bool = True
    width: Annotated[int, Field(gt=0)] = 1280
    height: Annotated[int, Field(gt=0)] = 720
    privacy_notice: bool = True
    privacy_notice_text: str = "This screen counts viewers anonymously with a camera. No images are stored."
    image_duration_s: Annotated[float, Field(gt=0)] = 8.0
    standby_slot_s: Annotated[float, Field(gt=0)] = 10.0
    # "pygame": VLC hands decoded frames to pygame, which draws them: the switch between ads is
    # gapless and the privacy notice is drawn on top. "window": under X11, VLC draws into the
    # window itself (less CPU for 4K video, but a new clip may flash black before its first frame).
    video_output: Literal["pygame", "window"] = "pygame"


class PerceptionSettings(Strict):
    enabled: bool = True
    attention_yaw_deg: Annotated[float, Field(gt=0, le=90)] = 30.0
    attention_pitch_deg: Annotated[float, Field(gt=0, le=90)] = 20.0
    minor_probability_threshold: Annotated[float, Field(gt=0, lt=1)] = 0.2
    track_expiry_s: Annotated[float, Field(gt=0)] = 2.0
    # A person who left comes back as the same track if they reappear where they left within this.
    reentry_window_s: Annotated[float, Field(ge=0)] = 10.0
    # Sightings before a face counts as a person (one-frame false detections never become people).
    confirm_hits: Annotated[int, Field(ge=1)] = 3
    min_face_score: Annotated[float, Field(gt=0, lt=1)] = 0.5
    use_face_mesh: bool = True  # precise eyes and head pose; off halves the face cost
    # Attribute classification: often until confident, then now and then (emotion changes).
    classify_interval_s: Annotated[float, Field(ge=0)] = 0.1
    reclassify_interval_s: Annotated[float, Field(gt=0)] = 2.0
    confident_samples: Annotated[int, Field(ge=1)] = 5
    confident_probability: Annotated[float, Field(gt=0.5, lt=1)] = 0.9
    max_samples_to_confidence: Annotated[int, Field(ge=1)] = 15
    min_face_px_for_attributes: Annotated[float, Field(gt=0)] = 24.0
    max_faces_per_batch: Annotated[int, Field(ge=1)] = 4
    # Until classified, a person might be a minor: restricted ads wait (policy, not accuracy).
    unclassified_is_possible_minor: bool = True
    emotion_half_life_s: Annotated[float, Field(gt=0)] = 2.0
    # Distance from face width: the camera's horizontal field of view and an adult face's width.
    camera_hfov_deg: Annotated[float, Field(gt=10, lt=180)] = 60.0
    face_width_m: Annotated[float, Field(gt=0)] = 0.16
    # Mean grey-level change of the whole view that ends every track (camera moved, video cut); 0: never.
    scene_cut_threshold: Annotated[float, Field(ge=0, le=255)] = 20.0


class PolicySettings(Strict):
    """Operator policy that no rule file can switch off."""

    restricted_subjects: tuple[str, ...] = ("alcohol",)


class ImpressionSettings(Strict):
    """How plays become impressions (definitions: docs/metrics.md)."""

    viewer_threshold_s: Annotated[float, Field(ge=0, le=60)] = 1.0
    before_window_s: Annotated[float, Field(gt=0, le=60)] = 5.0  # "just before the play"


class WebSettings(Strict):
    """The dashboard (`signage serve`)."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(gt=0, lt=65536)] = 8080
    database_url: str | None = None  # default: the device database (a fleet points it at PostgreSQL)
    secret_file: Path = Path("web-secret.key")  # relative to data_dir; created on first start
    https_only: bool = False  # True behind TLS: session cookies get the Secure flag
    session_max_age_s: Annotated[int, Field(gt=0)] = 8 * 3600
    login_attempts: Annotated[int, Field(gt=0)] = 5
    login_window_s: Annotated[float, Field(gt=0)] = 300.0
    # Reverse proxies (addresses or CIDRs) whose X-Forwarded-For/-Proto are believed; empty: none are.
    trusted_proxies: tuple[IPvAnyNetwork, ...] = ()
    # Host names the dashboard answers to ("*.example.com" for sub-domains); the bind host is added.
    allowed_hosts: tuple[Annotated[str, Field(min_length=1)], ...] = ("localhost", "127.0.0.1", "::1")


class FleetSettings(Strict):
    """Shipping this screen's rows to a central PostgreSQL (`signage sync`)."""

    central_url: str | None = None  # postgresql+psycopg://user@host:5432/db
    sync_interval_s: Annotated[float, Field(gt=0)] = 10.0
    sync_batch_rows: Annotated[int, Field(gt=0, le=100_000)] = 2000


class Settings(Strict):
    screen_id: Annotated[str, Field(min_length=1)] = "screen-1"
    store_id: Annotated[str, Field(min_length=1)] = "store-1"
    timezone: str = "UTC"
    data_dir: Path = Path("data")
    database_url: str | None = None  # default: SQLite under data_dir
    catalog: Path = PROJECT_ROOT / "ads" / "catalog.yaml"
    rules: tuple[Path, ...] = (PROJECT_ROOT / "rules" / "store.yaml",)
    camera: CameraSettings = CameraSettings()
    display: DisplaySettings = DisplaySettings()
    perception: PerceptionSettings = PerceptionSettings()
    policy: PolicySettings = PolicySettings()
    fleet: FleetSettings = FleetSettings()
    impressions: ImpressionSettings = ImpressionSettings()
    web: WebSettings = WebSettings()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown time zone; use an IANA name such as 'Europe/Paris'") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'signage.db').resolve()}"

    def relative_to(self, base: Path) -> Settings:
        """The same settings with relative paths resolved against ``base``."""

        def fix(path: Path) -> Path:
            return path if path.is_absolute() else (base / path).resolve()

        camera = self.camera
        if _is_relative_file(camera.source):
            camera = camera.model_copy(update={"source": str(fix(Path(camera.source)))})
        return self.model_copy(
            update={
                "data_dir": fix(self.data_dir),
                "catalog": fix(self.catalog),
                "rules": tuple(fix(p) for p in self.rules),
                "camera": camera,
            }
        )


def _is_relative_file(source: str) -> bool:
    """A camera source that names a video file by a relative path (not a keyword, device or URL)."""
    text = source.strip()
    keyword = text.lower().split(":", 1)[0] in ("auto", "simulated", "none")
    return not (keyword or text.isdigit() or "://" in text or Path(text).is_absolute())


def load_settings(path: Path | None) -> Settings:
    """Settings from ``path`` (relative paths resolved beside it), or the built-in defaults."""
    if path is None:
        return Settings().relative_to(Path.cwd())
    return load_model(path, Settings).relative_to(path.resolve().parent)
