"""The screen's uplink: heartbeats, rows and screenshots to the central server (docs/fleet.md).

When ``fleet.server_url`` is set, the player runs one ``Uplink`` thread that

- posts a heartbeat (``uplink_protocol.ScreenStatus``) every ``heartbeat_every_s`` (30 s),
- ships the rows of every synced table every ``fleet.sync_interval_s`` over HTTP (the fleet sync's
  ``HttpTarget``: the watermark moves only after the server committed a batch), backing off while
  the server is away,
- acts on two MQTT commands on its screen topic (``protocol.screen_topic``): ``collect`` ships now,
  ``screenshot`` has the player save a picture of what is on screen (``ScreenshotTaker``, on the main
  thread) and uploads it as soon as it is saved.

The subscription is a persistent session (``clean_session=False``), so commands sent while the
screen was off arrive when it connects: a late ``collect`` is harmless, but a ``screenshot`` issued
more than ``SCREENSHOT_STALE_S`` before it arrives is dropped (nobody is waiting for it any more).

It keeps its own MQTT subscription (``signage.fleet.agent.mqtt.MqttWake`` with its own client id),
beside the agent's, which acts on ``release`` and ``alert``; each ignores the other's commands.
Nothing here blocks the loop: every request has a timeout and runs on the uplink's thread.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from signage.clock import Clock
from signage.feed.mqtt import Broker
from signage.fleet.http_target import HttpTarget, UplinkClient, read_token, token_path
from signage.fleet.protocol import Command
from signage.fleet.release_id import ReleaseIdSource, current_release
from signage.fleet.runner import SyncPasses
from signage.fleet.sync import TargetError
from signage.fleet.uplink_observer import SCREENSHOT_FILE, PlayStatus, Screenshots, ScreenshotTaker
from signage.fleet.uplink_protocol import PNG_MAGIC, PowerState, ScreenStatus
from signage.loop import PlayObserver
from signage.settings import Settings
from signage.store.engine import make_engine
from signage.store.migrate import upgrade
from signage.store.sql import one_line

log = logging.getLogger(__name__)

HEARTBEAT_EVERY_S = 30.0
# A "screenshot" command older than this when it arrives (queued by the broker while the screen was
# off or away) is dropped; a few minutes of clock skew between server and screen still pass.
SCREENSHOT_STALE_S = 600.0


def disk_free_bytes(path: Path) -> int | None:
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


class Uplink:
    """The uplink's schedule; ``step`` does what is due (tests drive it on a fake clock)."""

    def __init__(
        self,
        client: UplinkClient,
        passes: SyncPasses,
        status: Callable[[], ScreenStatus],
        clock: Clock,
        *,
        sync_every_s: float,
        heartbeat_every_s: float = HEARTBEAT_EVERY_S,
        screenshots: ScreenshotTaker | None = None,
    ) -> None:
        self.client, self.passes = client, passes
        self._status = status
        self.clock = clock
        self.sync_every_s, self.heartbeat_every_s = sync_every_s, heartbeat_every_s
        self.screenshots = screenshots
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._collect = False
        self._upload: Path | None = None
        now = clock.monotonic()
        self._next_beat = self._next_sync = now  # both at once on start
        self._beat_error: str | None = None
        self._shot_error: str | None = None
        self._thread: threading.Thread | None = None
        self.beats = self.uploads = 0

    # -- what others call (MQTT's thread, the main thread) --------------------------------------
    def on_command(self, command: Command) -> None:
        if command.kind == "collect":
            self.collect_now()
        elif command.kind == "screenshot":
            if self._stale(command):
                return
            self.screenshot_now()
        # "release" and "alert" are the agent's

    def _stale(self, command: Command) -> bool:
        if command.issued_utc is None:
            return False
        age = self.clock.now_utc() - command.issued_utc
        if age <= timedelta(seconds=SCREENSHOT_STALE_S):
            return False
        log.info(
            "a screenshot asked for %.0f min ago (queued while the screen was away) is dropped",
            age.total_seconds() / 60,
        )
        return True

    def collect_now(self) -> None:
        with self._lock:
            self._collect = True
        self._wake.set()

    def screenshot_now(self) -> None:
        if self.screenshots is None:
            log.warning("a screenshot was asked for, but this player takes none")
            return
        self.screenshots.request()

    def screenshot_saved(self, path: Path) -> None:
        """The taker's ``on_saved``: upload it at once."""
        with self._lock:
            self._upload = path
        self._wake.set()

    # -- the thread ------------------------------------------------------------------------------
    def step(self) -> float:
        """Send what is due; returns the seconds until something is due again."""
        now = self.clock.monotonic()
        if now >= self._next_beat:
            self._beat()
            self._next_beat = now + self.heartbeat_every_s
        with self._lock:
            upload, self._upload = self._upload, None
            collect, self._collect = self._collect, False
        if upload is not None:
            self._send_screenshot(upload)
        if collect or now >= self._next_sync:
            report = self.passes.run_pass()
            delay = self.sync_every_s if report is not None else self.passes.retry_delay_s()
            self._next_sync = now + delay
        return max(0.0, min(self._next_beat, self._next_sync) - self.clock.monotonic())

    def _beat(self) -> None:
        try:
            self.client.post_heartbeat(self._status())
        except TargetError as exc:
            message = one_line(exc)
            if self._beat_error is None:
                log.warning("heartbeat not delivered (%s); the screen plays on, retrying", message)
            self._beat_error = message
            return
        if self._beat_error is not None:
            log.info("heartbeats delivered again")
        self._beat_error = None
        self.beats += 1

    def _send_screenshot(self, path: Path) -> None:
        try:
            png = path.read_bytes()
            if not png.startswith(PNG_MAGIC):
                raise TargetError(f"{path} is not a PNG; nothing else is sent")
            self.client.post_screenshot(png)
        except (OSError, TargetError) as exc:
            message = one_line(exc)
            if message != self._shot_error:
                log.warning("screenshot not uploaded: %s", message)
            self._shot_error = message
            return
        self._shot_error = None
        self.uploads += 1
        log.info("screenshot uploaded to %s", self.client.server_url)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                delay = self.step()
            except Exception:  # the uplink must go on; the player does anyway
                log.exception("the uplink failed; trying again in %g s", self.heartbeat_every_s)
                delay = self.heartbeat_every_s
            self._wake.wait(delay)

    def start(self) -> Uplink:
        self._thread = threading.Thread(target=self._run, name="fleet-uplink", daemon=True)
        self._thread.start()
        return self

    def close(self, timeout_s: float = 30.0) -> None:
        """Stop the thread (a request in flight ends within its timeout) and close the client."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("the uplink did not stop within %g s", timeout_s)
        self.client.close()


def status_source(
    plays: PlayStatus,
    clock: Clock,
    data_dir: Path,
    release_id: ReleaseIdSource,
    camera_online: Callable[[], bool],
    power: Callable[[], PowerState],
    camera_covered: Callable[[], bool] = lambda: False,
) -> Callable[[], ScreenStatus]:
    def status() -> ScreenStatus:
        return ScreenStatus(
            sent_utc=clock.now_utc(),
            release_id=release_id(),
            camera_online=camera_online(),
            disk_free_bytes=disk_free_bytes(data_dir),
            playing_ad_id=plays.playing_ad_id(),
            plays_last_hour=plays.plays_last_hour(),
            power=power(),
            camera_covered=camera_covered(),
        )

    return status


def start_uplink(
    settings: Settings,
    player: Screenshots,
    clock: Clock,
    stack: contextlib.ExitStack,
    *,
    camera_online: Callable[[], bool],
    power: Callable[[], PowerState] = lambda: "on",
    camera_covered: Callable[[], bool] = lambda: False,
    release_id: ReleaseIdSource | None = None,
) -> list[PlayObserver]:
    """Start the uplink on the player's exit stack; returns the observers the loop must call.

    Unwound, the MQTT subscription closes first, then the thread is stopped and the client closed.
    A missing token is said once and the player runs without an uplink (the agent says so too).
    """
    fleet = settings.fleet
    if fleet.server_url is None:
        return []
    try:
        token = read_token(token_path(fleet.token_file, settings.data_dir))
    except ValueError as exc:
        log.error("fleet uplink off: %s", exc)
        return []
    client = UplinkClient(fleet.server_url, token)
    local = make_engine(settings.resolved_database_url())
    stack.callback(local.dispose)  # after the thread has stopped
    # The store's writer migrates the same database at start; a clash is one failed pass, retried.
    passes = SyncPasses(local, HttpTarget(client), lambda: upgrade(local), batch_rows=fleet.sync_batch_rows)
    plays = PlayStatus(clock.monotonic)
    release = release_id or current_release(settings.data_dir)
    status = status_source(plays, clock, settings.data_dir, release, camera_online, power, camera_covered)
    uplink: Uplink
    taker = ScreenshotTaker(
        player, settings.data_dir / SCREENSHOT_FILE, clock.monotonic, lambda p: uplink.screenshot_saved(p)
    )
    uplink = Uplink(client, passes, status, clock, sync_every_s=fleet.sync_interval_s, screenshots=taker)
    uplink.start()
    stack.callback(uplink.close)
    if settings.feed.mqtt_url:
        from signage.fleet.agent.mqtt import MqttWake

        try:
            wake = MqttWake(
                Broker.from_url(settings.feed.mqtt_url),
                settings.feed.topic_prefix,
                settings.screen_id,
                uplink.on_command,
                client_id=f"signage-uplink-{settings.screen_id}",
            )
        except Exception as exc:  # a TLS setup that fails: the uplink goes on without pushes
            log.error("fleet uplink: no MQTT commands (%s); it sends on its own schedule", exc)
        else:
            stack.callback(wake.close)
    log.info(
        "fleet uplink to %s: heartbeat every %g s, rows every %g s",
        client.server_url,
        HEARTBEAT_EVERY_S,
        fleet.sync_interval_s,
    )
    return [plays, taker]
