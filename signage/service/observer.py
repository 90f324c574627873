"""The player's side of the systemd watchdog: a play observer the slot loop calls on its own thread.

The slot loop, on the main thread that owns the display, calls ``audience_sample`` every
``sample_every_s`` while a play is on screen, and ``play_started``/``play_ended`` at every switch.
Each call is proof that the loop is making progress, so each may ping the watchdog (at most every
half period). A frozen loop or a VLC call that never returns stops the calls, hence the pings,
and systemd kills and restarts the player after ``WatchdogSec``. ``READY=1`` goes out once, when
the first play is on screen; ``STATUS=`` whenever the one-line state changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from signage.domain import STANDBY_ID, AudienceSnapshot, Play
from signage.service.notify import Notifier, notifier_from_env, watchdog_period_s

log = logging.getLogger(__name__)


class SystemdObserver:
    def __init__(
        self,
        notifier: Notifier,
        monotonic: Callable[[], float],
        watchdog_s: float | None,
        camera_online: Callable[[], bool | None],
    ) -> None:
        """``camera_online`` is None when there is no camera at all (``camera.source: none``)."""
        self.notifier = notifier
        self.monotonic = monotonic
        self.ping_every_s = watchdog_s / 2 if watchdog_s else None
        self.camera_online = camera_online
        self.ready = False
        self._last_ping: float | None = None
        self._status = ""
        self._showing = ""

    def _ping(self) -> None:
        if self.ping_every_s is None:
            return
        now = self.monotonic()
        if self._last_ping is None or now - self._last_ping >= self.ping_every_s:
            self._last_ping = now
            self.notifier.notify("WATCHDOG=1")

    def _report(self, audience: AudienceSnapshot) -> None:
        online = self.camera_online()
        camera = "no camera" if online is None else f"camera {'online' if online else 'offline'}"
        if online and not audience.known:
            camera += ", audience unknown"
        status = f"{self._showing}, {camera}"
        if status != self._status:
            self._status = status
            self.notifier.notify(f"STATUS={status}")

    def play_started(self, play: Play, audience: AudienceSnapshot) -> None:
        self._showing = "standby slide" if play.ad_id == STANDBY_ID else "playing"
        if not self.ready:
            self.ready = True
            self.notifier.notify("READY=1")
            log.info("told systemd the player is ready")
        self._report(audience)
        self._ping()

    def audience_sample(self, audience: AudienceSnapshot) -> None:
        self._report(audience)
        self._ping()

    def play_ended(self, play: Play, audience: AudienceSnapshot) -> None:
        self._ping()


def systemd_observers(
    camera_online: Callable[[], bool | None],
    monotonic: Callable[[], float],
    environ: Mapping[str, str] | None = None,
) -> tuple[SystemdObserver, ...]:
    """One observer when systemd supervises this process (``$NOTIFY_SOCKET`` set), else none."""
    notifier = notifier_from_env(environ)
    if notifier is None:
        return ()
    watchdog_s = watchdog_period_s(environ)
    log.info(
        "systemd supervises this player: notify socket %s, watchdog %s",
        notifier.address,
        f"{watchdog_s:g} s" if watchdog_s else "off",
    )
    return (SystemdObserver(notifier, monotonic, watchdog_s, camera_online),)
