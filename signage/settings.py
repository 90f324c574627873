"""Device settings (``signage.yaml``): everything optional, defaults built in.

Relative paths in the file are resolved against the file's own folder, so a settings file can
be moved together with its data.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, Field, IPvAnyNetwork, field_validator

from signage.fleet.hours_settings import LocalHoursSettings
from signage.strictmodel import StrictModel
from signage.urls import DatabaseUrl, check_mqtt_url, check_server_url, fits_sync_target
from signage.yamlconf import (
    ConfigError,
    ConfigPath,
    Finding,
    LocatedDocument,
    no_control_characters,
    parse_yaml,
    read_text,
    validate_document,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


# Column sizes of the tables these values are stored in (signage/store/models.py, the
# impression and sync tables): a longer value would validate here and then fail on every write.
SCREEN_ID_MAX = 64  # play.screen_id, heartbeat.screen_id, impression.screen_id: VARCHAR(64)
STORE_ID_MAX = 64  # heartbeat.store_id: VARCHAR(64)


# The standard on-screen notice (EU AI Act Art. 50(3)): what the camera estimates, and that nothing
# that identifies a person is stored. Anonymous per-visit statistics are kept, so the notice says
# that rather than "nothing at all".
_NOTHING_STORED = "Nothing that identifies you is stored: no images, only anonymous statistics."
PRIVACY_NOTICE = f"A camera estimates viewers' age range, gender and expression. {_NOTHING_STORED}"
PRIVACY_NOTICE_NO_EMOTION = f"A camera estimates viewers' age range and gender. {_NOTHING_STORED}"


class CameraSettings(StrictModel):
    # "auto": the first webcam if one opens, else the simulated scene. Also: "simulated", "none",
    # a device index ("0"), a video file path, or an rtsp:// / http:// URL.
    source: Annotated[str, Field(min_length=1), AfterValidator(no_control_characters)] = "auto"
    width: Annotated[int, Field(gt=0)] = 640
    height: Annotated[int, Field(gt=0)] = 480
    fps: Annotated[float, Field(gt=0, le=120)] = 30.0
    frozen_after_s: Annotated[float, Field(gt=0)] = 5.0
    reconnect_max_s: Annotated[float, Field(gt=0)] = 30.0
    reconnect_initial_s: Annotated[float, Field(gt=0)] = 0.5  # first retry delay, doubled up to the max


class DisplaySettings(StrictModel):
    fullscreen: bool = True
    width: Annotated[int, Field(gt=0)] = 1280
    height: Annotated[int, Field(gt=0)] = 720
    privacy_notice: bool = True
    # Your own wording replaces the standard notice, which names what is estimated and drops
    # "expression" when perception.estimate_emotion is off (EU AI Act Art. 50(3)): see notice_text().
    privacy_notice_text: str = PRIVACY_NOTICE
    image_duration_s: Annotated[float, Field(gt=0)] = 8.0
    standby_slot_s: Annotated[float, Field(gt=0)] = 10.0
    # "pygame": VLC hands decoded frames to pygame, which draws them: the switch between ads is
    # gapless and the privacy notice is drawn on top. "window": under X11, VLC draws into the
    # window itself (less CPU for 4K video, but a new clip may flash black before its first frame).
    video_output: Literal["pygame", "window"] = "pygame"


class PerceptionSettings(StrictModel):
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
    # False: the model's emotion output is not used, so no emotion is estimated, stored, reported
    # or published, the notice does not name it and rules that name emotion are refused.
    estimate_emotion: bool = True
    # Distance from face width: the camera's horizontal field of view and an adult face's width.
    camera_hfov_deg: Annotated[float, Field(gt=10, lt=180)] = 60.0
    face_width_m: Annotated[float, Field(gt=0)] = 0.16
    # Mean grey-level change of the whole view that ends every track (camera moved, video cut); 0: never.
    scene_cut_threshold: Annotated[float, Field(ge=0, le=255)] = 20.0


class PolicySettings(StrictModel):
    """Operator policy that no rule file can switch off."""

    restricted_subjects: tuple[str, ...] = ("alcohol",)


class ImpressionSettings(StrictModel):
    """How plays become impressions (definitions: docs/metrics.md)."""

    viewer_threshold_s: Annotated[float, Field(ge=0, le=60)] = 1.0
    before_window_s: Annotated[float, Field(gt=0, le=60)] = 5.0  # "just before the play"


class WebSettings(StrictModel):
    """The dashboard (`signage serve`)."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(gt=0, lt=65536)] = 8080
    database_url: DatabaseUrl = None  # default: the device database (a fleet points it at PostgreSQL)
    secret_file: ConfigPath = Path("web-secret.key")  # relative to data_dir; created on first start
    https_only: bool = False  # True behind TLS: session cookies get the Secure flag
    session_max_age_s: Annotated[int, Field(gt=0)] = 8 * 3600
    login_attempts: Annotated[int, Field(gt=0)] = 5
    login_window_s: Annotated[float, Field(gt=0)] = 300.0
    # Reverse proxies (addresses or CIDRs) whose X-Forwarded-For/-Proto are believed; empty: none are.
    trusted_proxies: tuple[IPvAnyNetwork, ...] = ()
    # Host names the dashboard answers to ("*.example.com" for sub-domains); the bind host is added.
    allowed_hosts: tuple[Annotated[str, Field(min_length=1)], ...] = ("localhost", "127.0.0.1", "::1")


class FleetHealthSettings(StrictModel):
    """When the central server (`signage fleet serve`) calls a screen unhealthy (docs/fleet.md)."""

    # A screen whose last heartbeat is older than this is offline ("silent").
    silent_after_min: Annotated[float, Field(gt=0, le=10_080)] = 5.0
    # An open screen that has shown only the standby slide this long raises a health alert.
    standby_only_after_min: Annotated[float, Field(gt=0, le=10_080)] = 30.0
    # How often the monitor looks at every screen.
    check_interval_s: Annotated[float, Field(ge=1, le=3600)] = 30.0


class FleetSettings(StrictModel):
    """This screen in a fleet: releases pulled from the central server (docs/fleet.md), and
    shipping its rows to a central PostgreSQL (`signage sync`)."""

    central_url: Annotated[DatabaseUrl, AfterValidator(fits_sync_target)] = None  # postgresql+psycopg://...
    sync_interval_s: Annotated[float, Field(gt=0)] = 10.0
    sync_batch_rows: Annotated[int, Field(gt=0, le=100_000)] = 2000
    # The central server (`signage fleet serve`); None: not in a fleet, the local catalog and rules play.
    server_url: Annotated[str | None, Field(max_length=500), AfterValidator(check_server_url)] = None
    # This screen's bearer token, written 0600 by `signage fleet join`; relative to data_dir.
    token_file: ConfigPath = Path("fleet-token")
    poll_interval_s: Annotated[float, Field(ge=5, le=86_400)] = 60.0
    disk_budget_mb: Annotated[int, Field(ge=1, le=10_000_000)] = 2048
    # The central server's blob store (`signage fleet publish`, `serve`); relative to data_dir.
    blob_dir: ConfigPath = Path("fleet-blobs")
    # The central server's health monitor and the dashboard's fleet page.
    health: FleetHealthSettings = FleetHealthSettings()


def _topic_prefix(value: str) -> str:
    if any(c in value for c in "+#") or value.startswith("/") or value.endswith("/") or "//" in value:
        raise ValueError("a topic prefix such as 'signage' or 'acme/stores': no + or #, no empty levels")
    return value


class FeedSettings(StrictModel):
    """The live audience feed (docs/audience-feed.md): anonymous events on MQTT and a local WebSocket."""

    # auto: on when mqtt_url is set (the demo also uses a broker answering at 127.0.0.1:1883);
    # on: always (MQTT to mqtt_url or 127.0.0.1:1883, reconnecting until it answers); off: never.
    enabled: Literal["auto", "on", "off"] = "auto"
    mqtt_url: Annotated[str | None, AfterValidator(check_mqtt_url)] = None
    topic_prefix: Annotated[
        str,
        Field(min_length=1, max_length=100),
        AfterValidator(no_control_characters),
        AfterValidator(_topic_prefix),
    ] = "signage"  # topics: <prefix>/<screen_id>/audience/...
    websocket_host: str = "127.0.0.1"  # another address exposes the feed beyond this machine
    websocket_port: Annotated[int, Field(gt=0, lt=65536)] | None = 8765  # null: no WebSocket
    max_updates_per_s: Annotated[float, Field(gt=0, le=50)] = 1.0  # per person (a token bucket)
    queue_max_messages: Annotated[int, Field(ge=10, le=100_000)] = 1000  # then the oldest are dropped

    @field_validator("enabled", mode="before")
    @classmethod
    def _yaml_on_off(cls, value: object) -> object:
        # YAML reads a bare on/off as true/false: take them as the words the operator wrote.
        return {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value


class Settings(StrictModel):
    screen_id: Annotated[
        str, Field(min_length=1, max_length=SCREEN_ID_MAX), AfterValidator(no_control_characters)
    ] = "screen-1"
    store_id: Annotated[
        str, Field(min_length=1, max_length=STORE_ID_MAX), AfterValidator(no_control_characters)
    ] = "store-1"
    timezone: str = "UTC"
    data_dir: ConfigPath = Path("data")
    database_url: DatabaseUrl = None  # default: SQLite under data_dir
    catalog: ConfigPath = PROJECT_ROOT / "ads" / "catalog.yaml"
    rules: tuple[ConfigPath, ...] = (PROJECT_ROOT / "rules" / "store.yaml",)
    camera: CameraSettings = CameraSettings()
    display: DisplaySettings = DisplaySettings()
    perception: PerceptionSettings = PerceptionSettings()
    policy: PolicySettings = PolicySettings()
    fleet: FleetSettings = FleetSettings()
    impressions: ImpressionSettings = ImpressionSettings()
    web: WebSettings = WebSettings()
    feed: FeedSettings = FeedSettings()
    hours: LocalHoursSettings | None = None  # opening hours set here win over the fleet's
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except Exception as exc:  # not found, a folder ("Europe"), not a zone file, a bad name
            raise ValueError("unknown time zone; use an IANA name such as 'Europe/Paris'") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def notice_text(self) -> str:
        """The privacy notice's words: the standard one says what is estimated (no "expression"
        when emotion is not estimated); an operator's own wording is kept as written."""
        text = self.display.privacy_notice_text
        if text == PRIVACY_NOTICE and not self.perception.estimate_emotion:
            return PRIVACY_NOTICE_NO_EMOTION
        return text

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


def data_dir_problem(path: Path) -> str | None:
    """Why ``path`` cannot be the data folder (it must exist or be creatable, and be writable).

    Nothing is created: the nearest existing folder must let this user create it or write in it.
    """
    probe = path
    while True:
        try:
            mode = os.stat(probe).st_mode
        except (FileNotFoundError, NotADirectoryError):
            if probe.parent == probe:
                return f"the data folder {path} cannot be created"
            probe = probe.parent
            continue
        except (OSError, ValueError) as exc:
            return f"the data folder {path} cannot be used: {getattr(exc, 'strerror', None) or exc}"
        break
    if not stat.S_ISDIR(mode):
        if probe == path:
            return f"the data folder {path} is a file, not a folder"
        return f"the data folder {path} cannot be created: {probe} is a file, not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        if probe == path:
            return f"the data folder {path} is not writable by this user"
        return f"the data folder {path} cannot be created: {probe} is not writable by this user"
    return None


def checked_settings(doc: LocatedDocument, base: Path) -> Settings:
    """Validate a parsed settings file, resolve its paths against ``base``, check the data folder."""
    settings = validate_document(doc, Settings).relative_to(base)
    problem = data_dir_problem(settings.data_dir)
    if problem is not None:
        finding = doc.finding(("data_dir",), problem)
        raise ConfigError([Finding(finding.file, finding.line, finding.column, "data_dir", problem)])
    return settings


def load_settings(path: Path | None) -> Settings:
    """Settings from ``path`` (relative paths resolved beside it), or the built-in defaults.

    Everything that would fail later is refused here with a located error: unknown time zones,
    database URLs SQLAlchemy cannot open, a data folder that cannot be created or written, ids
    longer than their database columns.
    """
    if path is None:
        return Settings().relative_to(Path.cwd())
    doc = parse_yaml(read_text(path), str(path))
    return checked_settings(doc, path.resolve().parent)
