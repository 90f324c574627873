"""The screen's fleet agent: one thread that polls the server and applies what it says.

Each poll asks for the screen state (``If-None-Match``: an unchanged state is a cheap 304), saves
the alerts and hours, fetches the alerts' media, then brings the release in force up to the
server's: missing blobs are downloaded (resumed from their ``.part``; a wake-up pauses a download
and polls again first, so an alert never waits for a long video) and verified, the release is
assembled in the inactive slot, validated as the player would, and only then made current. A
refused release is remembered and never retried (releases are immutable); an incomplete download
is resumed at the next poll. Polls come every ``poll_interval_s`` and at once on ``wake()`` (an
MQTT command); while the server is away they back off, and nothing on disk is removed, so the
screen plays its last good release for as long as it takes. Only transitions are logged.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from signage.clock import Clock
from signage.fleet.agent.client import BadAnswer, Cancelled, FleetClient, FleetError, TokenRefused
from signage.fleet.agent.store import AssemblyError, ReleaseStore
from signage.fleet.protocol import Release, ReleaseFile, ScreenState

log = logging.getLogger(__name__)

VERIFY_ATTEMPTS = 3  # a blob that fails its hash this many times in a row waits for the next poll
FIRST_RETRY_S = 5.0
MAX_BACKOFF_FACTOR = 5  # while away, at most this many poll intervals between tries


def backoff_s(failures: int, interval_s: float) -> float:
    """Seconds before the next try after ``failures`` failed polls in a row (0: a normal poll)."""
    if failures <= 0:
        return interval_s
    return min(FIRST_RETRY_S * 2 ** (failures - 1), interval_s * MAX_BACKOFF_FACTOR)


@dataclass
class AgentCounters:
    polls: int = 0
    failed_polls: int = 0
    releases_applied: int = 0
    releases_refused: int = 0
    corrupt_blobs: int = 0  # downloads whose sha256 did not match (deleted and fetched again)


class FleetAgent:
    """Keeps ``store`` at the server's state; ``start()`` runs it on its own thread until ``stop``."""

    def __init__(
        self,
        client: FleetClient,
        store: ReleaseStore,
        validate: Callable[[Path], str | None],
        stop: threading.Event,
        clock: Clock,
        *,
        poll_interval_s: float = 60.0,
        disk_budget_bytes: int = 2048 * 1024 * 1024,
        rng: random.Random | None = None,
        screen_id: str | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self._validate = validate
        self._stop = stop
        self._clock = clock
        self.poll_interval_s = poll_interval_s
        self.disk_budget_bytes = disk_budget_bytes
        self._rng = rng or random.Random()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fleet-agent", daemon=True)
        self.counters = AgentCounters()
        self.online: bool | None = None  # None until the first poll
        self.screen_id = screen_id  # as the settings name this screen (its MQTT topic)
        self._failures = 0
        self._etag: str | None = None
        self._state: ScreenState | None = None
        self._refused: set[str] = set()
        self._reported: str | None = None  # the away/stalled sentence last logged
        self._no_release_logged = False
        self._media_reported: str | None = None
        self._named_logged: str | None = None

    # -- the thread ------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Poll now (an MQTT command arrived); safe from any thread."""
        self._wake.set()

    def stop_and_join(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def next_delay_s(self) -> float:
        """The wait before the next poll: the interval, or the back-off while failing; +-10 % jitter
        so a fleet that lost its server does not come back all in the same second."""
        return backoff_s(self._failures, self.poll_interval_s) * self._rng.uniform(0.9, 1.1)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll_once()
            self._wake.wait(self.next_delay_s())  # poll_once clears it: a wake during a poll polls again

    # -- one poll --------------------------------------------------------------------------------
    def poll_once(self) -> bool:
        """Ask the server and apply its answer; True when everything it asked for is in force.

        Never raises: a failure is logged once (until it changes) and the poll is retried later.
        """
        self.counters.polls += 1
        self._wake.clear()  # this poll answers every wake-up so far
        try:
            reply = self.client.get_state(self._etag)
        except FleetError as exc:
            self._failed(str(exc), "token" if isinstance(exc, TokenRefused) else "away")
            return False
        if reply.state is not None:
            self._state, self._etag = reply.state, reply.etag
        self._server_back()
        try:
            if self._state is not None:
                self._apply(self._state)
        except Cancelled:  # a wake-up or the stop: poll again at once, the download resumes from its part
            return False
        except FleetError as exc:
            self._failed(str(exc), "token" if isinstance(exc, TokenRefused) else "stalled")
            return False
        except OSError as exc:  # the disk: full, read-only, a permission
            self._failed(f"the release store {self.store.root} cannot be written ({exc})", "disk")
            return False
        except Exception as exc:  # the thread must outlive anything; the message says what broke
            log.debug("fleet poll failure", exc_info=exc)
            self._failed(f"applying the fleet state failed ({type(exc).__name__}: {exc})", "disk")
            return False
        self._failures = 0
        self._reported = None
        return True

    def _server_back(self) -> None:
        if self.online is False:
            log.info("fleet server back after %d failed poll(s)", self._failures)
        elif self.online is None:
            log.info("fleet server reached; playing %s", self.store.current_release_id() or "no release yet")
        self.online = True

    def _failed(self, why: str, kind: str) -> None:
        """One failed poll: ``away`` (no answer), ``token`` (refused), ``stalled`` (a download), ``disk``."""
        self.counters.failed_polls += 1
        self._failures += 1
        if kind in ("away", "token"):
            self.online = False
        if why == self._reported:
            return
        self._reported = why
        playing = self.store.current_release_id()
        meanwhile = f"release {playing} plays meanwhile" if playing else "the standby slide plays meanwhile"
        if kind == "token":
            log.error("%s; %s (give the screen a new token with 'signage fleet join')", why, meanwhile)
        elif kind == "away":
            log.warning("fleet server away: %s; %s, retrying with back-off", why, meanwhile)
        elif kind == "stalled":
            log.warning("fleet release not complete yet: %s; %s, resuming at the next poll", why, meanwhile)
        else:
            log.error("%s; %s, retrying at the next poll", why, meanwhile)

    # -- applying the state ----------------------------------------------------------------------
    def _apply(self, state: ScreenState) -> None:
        if self.screen_id is not None and state.screen_id not in (self.screen_id, self._named_logged):
            self._named_logged = state.screen_id
            log.warning(
                "the fleet server knows this screen as %r but its settings say %r: commands to the screen "
                "are sent to the other name's topic (set screen_id to the server's name)",
                state.screen_id,
                self.screen_id,
            )
        self.store.save_alerts(state.alerts)
        self.store.save_hours(state.hours)
        now = self._clock.now_utc()
        for alert in state.alerts:
            if alert.media is not None and alert.active(now):
                self._fetch_alert_media(alert.alert_id, alert.media)
        release = state.release
        if release is None:
            if not self._no_release_logged:
                self._no_release_logged = True
                current = self.store.current_release_id()
                log.warning(
                    "the fleet server has no release for this screen yet; %s",
                    f"release {current} stays" if current else "the standby slide plays",
                )
            return
        self._no_release_logged = False
        if release.release_id == self.store.current_release_id() or release.release_id in self._refused:
            return
        self._apply_release(release, state)

    def _apply_release(self, release: Release, state: ScreenState) -> None:
        for item in release.files:
            self._ensure_blob(item)
        previous = self.store.current_release_id()
        try:
            slot = self.store.assemble(release)
        except AssemblyError as exc:
            self._refuse(release, str(exc), previous)
            return
        problem = self._validate(slot)
        if problem is not None:
            self.store.discard(slot)
            self._refuse(release, problem, previous)
            self._collect_garbage(state)  # its blobs are no slot's now
            return
        self.store.switch_to(slot)
        self.counters.releases_applied += 1
        log.info(
            "fleet release %s applied (%d file(s), %.1f MB)%s",
            release.release_id,
            len(release.files),
            release.total_bytes / 1e6,
            f", replacing {previous}" if previous else "",
        )
        self._collect_garbage(state)

    def _refuse(self, release: Release, problem: str, previous: str | None) -> None:
        self._refused.add(release.release_id)
        self.counters.releases_refused += 1
        kept = f"release {previous} stays in force" if previous else "the standby slide stays"
        log.error("fleet release %s refused, %s: %s", release.release_id, kept, problem)

    def _collect_garbage(self, state: ScreenState) -> None:
        keep = {a.media.sha256 for a in self.store.saved_alerts() if a.media is not None}
        keep |= {a.media.sha256 for a in state.alerts if a.media is not None}
        freed = self.store.collect_garbage(self.disk_budget_bytes, keep)
        if freed:
            log.info(
                "fleet blobs: %.1f MB no release uses deleted to stay within the disk budget", freed / 1e6
            )

    def _should_yield(self) -> bool:
        """A download gives way to a wake-up (an alert may be waiting) and to the stop."""
        return self._wake.is_set() or self._stop.is_set()

    def _fetch_alert_media(self, alert_id: str, media: ReleaseFile) -> None:
        """Best effort: an alert shows its message without its media, and never holds a release back."""
        try:
            self._ensure_blob(media)
        except FleetError as exc:
            if str(exc) != self._media_reported:
                self._media_reported = str(exc)
                log.warning("fleet alert %s shows without its media for now: %s", alert_id, exc)

    def _ensure_blob(self, item: ReleaseFile) -> None:
        """Download and verify one blob unless it is there; a hash mismatch deletes it and fetches it again."""
        if self.store.has_blob(item.sha256):
            return
        for _attempt in range(VERIFY_ATTEMPTS):
            part = self.store.part_path(item.sha256)
            if part.exists() and part.stat().st_size > item.size:
                part.unlink()  # longer than the blob: it cannot be a beginning of it
            if not part.exists() or part.stat().st_size < item.size:
                self.client.download_blob(item.sha256, part, self._should_yield)
            if self.store.finish_blob(item.sha256):
                return
            self.counters.corrupt_blobs += 1
            log.warning(
                "fleet blob %s (%s) failed its sha256 check (%d so far); deleted, fetching it again",
                item.sha256[:12],
                item.path,
                self.counters.corrupt_blobs,
            )
        raise BadAnswer(
            f"blob {item.sha256[:12]} ({item.path}) failed its sha256 check {VERIFY_ATTEMPTS} times"
        )
