"""The feed as a ``PlayObserver``: play events, and track enter/update/leave from snapshot diffs.

The loop hands every observer the audience at each play's start and end and every ``sample_every_s``
during it. Diffing the track ids of consecutive snapshots gives who entered, who is still there and
who left. Each tracker id is mapped to a random token (``secrets.token_hex``) that lives in this
object's memory for as long as the tracker keeps the track: while present, and for the re-entry
window after it left (``perception.reentry_window_s``), when the tracker gives a person who comes
back where they left the same track, so the feed gives them the same token (leave, then enter
again). Then the token is forgotten: a consumer can follow one person through one visit, never link
two visits, and never learn the tracker's id.

Track updates are rate limited per person by a token bucket on the snapshot clock (``at_mono``);
enter, leave and play events are never dropped here. Nothing here blocks: messages go to a
``FeedQueue`` whose ``put`` returns at once (``signage.feed.hub``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from signage.domain import STANDBY_ID, AudienceSnapshot, Play, Track
from signage.feed.messages import (
    TRACK_ENTER,
    TRACK_LEAVE,
    TRACK_UPDATE,
    FeedMessage,
    play_end_message,
    play_start_message,
    track_message,
)


class FeedQueue(Protocol):
    def put(self, message: FeedMessage) -> None: ...


class TokenBucket:
    """At most ``rate_per_s`` tokens a second, ``capacity`` at once; pure (time is passed in)."""

    def __init__(self, rate_per_s: float, now: float, capacity: float = 1.0, tokens: float = 0.0) -> None:
        if rate_per_s <= 0 or capacity < 1:
            raise ValueError(f"a token bucket needs rate > 0 and capacity >= 1, got {rate_per_s}, {capacity}")
        self.rate_per_s = rate_per_s
        self.capacity = capacity
        self._tokens = min(tokens, capacity)
        self._at = now

    def take(self, now: float) -> bool:
        """One token if there is one now (time going backwards adds none)."""
        self._tokens = min(self.capacity, self._tokens + max(0.0, now - self._at) * self.rate_per_s)
        self._at = max(self._at, now)
        if self._tokens >= 1.0 - 1e-9:
            self._tokens -= 1.0
            return True
        return False


@dataclass
class _Live:
    token: str
    bucket: TokenBucket
    last: Track
    left_mono: float | None = None  # when it left the snapshots (its token is kept a while)


class AudienceFeed:
    """Turns the loop's plays and audience samples into feed messages on ``queue``."""

    def __init__(
        self,
        queue: FeedQueue,
        screen_id: str,
        *,
        max_updates_per_s: float = 1.0,
        estimate_emotion: bool = True,
        reentry_window_s: float = 10.0,
        now_utc: Callable[[], datetime] = lambda: datetime.now(UTC),
        new_token: Callable[[], str] = lambda: secrets.token_hex(8),
    ) -> None:
        self.queue = queue
        self.screen_id = screen_id
        self.max_updates_per_s = max_updates_per_s
        self.estimate_emotion = estimate_emotion
        self.reentry_window_s = reentry_window_s
        self._now_utc = now_utc
        self._new_token = new_token
        self._live: dict[int, _Live] = {}
        self._departed: dict[int, _Live] = {}  # left, token kept for the re-entry window
        self._seq = 0
        self._play: Play | None = None
        self._seen: set[str] = set()  # tokens present during the open play
        self._watched: set[str] = set()  # tokens that watched at some sample of it
        self.updates_limited = 0  # updates the rate limit held back

    # -- PlayObserver -----------------------------------------------------------------------
    def play_started(self, play: Play, audience: AudienceSnapshot) -> None:
        self._diff(audience)
        if play.ad_id == STANDBY_ID:
            self._play = None
            return
        self._play = play
        self._seen, self._watched = set(), set()
        self._count(audience)
        self._send(play_start_message(play, audience, seq=self._next_seq(), now=self._now_utc()))

    def audience_sample(self, audience: AudienceSnapshot) -> None:
        self._diff(audience)
        self._count(audience)

    def play_ended(self, play: Play, audience: AudienceSnapshot) -> None:
        self._diff(audience)
        self._count(audience)
        if self._play is None or self._play.play_id != play.play_id:
            return
        self._play = None
        message = play_end_message(
            play,
            audience,
            people_seen=len(self._seen),
            people_watching=len(self._watched),
            seq=self._next_seq(),
            now=self._now_utc(),
        )
        self._send(message)

    # -- internals --------------------------------------------------------------------------
    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _send(self, message: FeedMessage) -> None:
        self.queue.put(message)

    def _track(self, subtopic: str, live: _Live, track: Track, reason: str | None = None) -> None:
        message = track_message(
            subtopic,
            live.token,
            track,
            screen_id=self.screen_id,
            seq=self._next_seq(),
            now=self._now_utc(),
            estimate_emotion=self.estimate_emotion,
            reason=reason,
        )
        self._send(message)

    def _count(self, audience: AudienceSnapshot) -> None:
        if self._play is None or not audience.known:
            return
        for track in audience.tracks:
            live = self._live.get(track.track_id)
            if live is not None:
                self._seen.add(live.token)
                if track.watching:
                    self._watched.add(live.token)

    def _diff(self, audience: AudienceSnapshot) -> None:
        now = audience.at_mono
        current = {t.track_id: t for t in audience.tracks} if audience.known else {}
        for track_id in [i for i in self._live if i not in current]:
            gone = self._live.pop(track_id)
            gone.left_mono = now
            self._departed[track_id] = gone
            self._track(TRACK_LEAVE, gone, gone.last, "left" if audience.known else "audience_unknown")
        for track_id in [
            i for i, d in self._departed.items() if now - (d.left_mono or now) > self.reentry_window_s
        ]:
            del self._departed[track_id]  # the tracker has forgotten it too: so is its token
        for track_id, track in current.items():
            live = self._live.get(track_id)
            if live is None:
                back = self._departed.pop(track_id, None)
                new = back or _Live(self._new_token(), TokenBucket(self.max_updates_per_s, now), track)
                new.last, new.left_mono = track, None
                self._live[track_id] = new
                self._track(TRACK_ENTER, new, track)
                continue
            live.last = track
            if live.bucket.take(now):
                self._track(TRACK_UPDATE, live, track)
            else:
                self.updates_limited += 1

    def close(self) -> None:
        """Everyone still present leaves (the feed is stopping)."""
        for live in self._live.values():
            self._track(TRACK_LEAVE, live, live.last, "feed_stopped")
        self._live.clear()
        self._departed.clear()
