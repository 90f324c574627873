"""The screen's heartbeat: what plays, whether the camera, the catalog and the rules are fine.

Written when the picture changes and at least every ``every_s`` seconds, so the dashboard can
tell a live screen from a dead one without a row per frame.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from signage import __version__
from signage.domain import AudienceSnapshot, Play
from signage.store.base import Heartbeat, HeartbeatSink

FileStatus = tuple[bool, str]  # (valid, one-sentence error) of the rules or the catalog in force


class HeartbeatObserver:
    def __init__(
        self,
        sink: HeartbeatSink,
        *,
        screen_id: str,
        store_id: str,
        camera_online: Callable[[], bool],
        rules_status: Callable[[], FileStatus],
        catalog_status: Callable[[], FileStatus] = lambda: (True, ""),
        now_utc: Callable[[], datetime],
        monotonic: Callable[[], float],
        every_s: float = 30.0,
        release_id: Callable[[], str | None] = lambda: None,  # the fleet release running
    ) -> None:
        self._sink = sink
        self._screen_id, self._store_id = screen_id, store_id
        self._camera_online = camera_online
        self._rules_status = rules_status
        self._catalog_status = catalog_status
        self._now_utc, self._monotonic = now_utc, monotonic
        self._every_s = every_s
        self._release_id = release_id
        self._started_at = now_utc()
        self._playing: str | None = None
        self._last_mono: float | None = None

    def beat(self) -> None:
        valid, error = self._rules_status()
        catalog_valid, catalog_error = self._catalog_status()
        self._sink.write_heartbeat(
            Heartbeat(
                screen_id=self._screen_id,
                store_id=self._store_id,
                last_seen=self._now_utc(),
                playing_ad_id=self._playing,
                camera_online=self._camera_online(),
                rules_valid=valid,
                rules_error=error,
                catalog_valid=catalog_valid,
                catalog_error=catalog_error,
                app_version=__version__,
                started_at=self._started_at,
                release_id=self._release_id(),
            )
        )
        self._last_mono = self._monotonic()

    def play_started(self, play: Play, audience: AudienceSnapshot) -> None:
        self._playing = play.ad_id
        self.beat()

    def audience_sample(self, audience: AudienceSnapshot) -> None:
        if self._last_mono is None or self._monotonic() - self._last_mono >= self._every_s:
            self.beat()

    def play_ended(self, play: Play, audience: AudienceSnapshot) -> None:
        self._playing = None
