"""The feed's messages: anonymous JSON payloads built from tracks and plays (schema: docs/audience-feed.md).

Pure: no clock, no network. A person is named by a random token the caller gives (never the
tracker's integer id); no image, crop, embedding or face box is ever part of a message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from signage.domain import EMOTIONS, AudienceSnapshot, Play, Track

SCHEMA_VERSION = 1

# Topic suffixes under <prefix>/<screen_id>/audience/
TRACK_ENTER = "track/enter"
TRACK_UPDATE = "track/update"
TRACK_LEAVE = "track/leave"
PLAY_START = "play/start"
PLAY_END = "play/end"
STATUS = "status"


@dataclass(frozen=True)
class FeedMessage:
    """One event: where it goes (the topic suffix) and its JSON text."""

    subtopic: str
    body: str
    retain: bool = False
    droppable: bool = False  # a newer one of its kind supersedes it (track updates)


def _r(value: float, digits: int = 2) -> float:
    return round(float(value), digits)


def _attributes(track: Track, estimate_emotion: bool) -> dict[str, object] | None:
    """The pooled attributes with their uncertainty; None until the person was classified."""
    if track.age_years is None or track.p_female is None:
        return None
    out: dict[str, object] = {
        "samples": track.samples,
        "age_years": _r(track.age_years, 1),
        "age_std_years": _r(track.age_std_years or 0.0, 1),
        "age_band": None if track.age_band is None else track.age_band.value,
        "p_female": _r(track.p_female, 3),
        "p_minor": None if track.p_minor is None else _r(track.p_minor, 3),
    }
    if estimate_emotion and track.emotion_probs and len(track.emotion_probs) == len(EMOTIONS):
        out["emotion_probs"] = {e.value: _r(p, 3) for e, p in zip(EMOTIONS, track.emotion_probs, strict=True)}
    return out


def _envelope(event: str, screen_id: str, seq: int, now: datetime) -> dict[str, object]:
    return {
        "v": SCHEMA_VERSION,
        "event": event,
        "screen_id": screen_id,
        "seq": seq,
        "ts": now.isoformat(timespec="milliseconds"),
    }


def _dump(payload: dict[str, object]) -> str:
    return json.dumps(payload, separators=(",", ":"), allow_nan=False)


def track_message(
    subtopic: str,
    token: str,
    track: Track,
    *,
    screen_id: str,
    seq: int,
    now: datetime,
    estimate_emotion: bool,
    reason: str | None = None,
) -> FeedMessage:
    """``track/enter``, ``track/update`` or ``track/leave`` for one person (``reason`` on leave)."""
    payload = _envelope(subtopic.replace("/", "."), screen_id, seq, now)
    payload.update(
        {
            "track": token,
            "dwell_s": _r(track.dwell_s),
            "attention_s": _r(track.attention_s),
            "watching": track.watching,
            "distance_m": None if track.distance_m is None else _r(track.distance_m),
            "possible_minor": track.possible_minor,
            "attributes": _attributes(track, estimate_emotion),
        }
    )
    if reason is not None:
        payload["reason"] = reason
    return FeedMessage(subtopic, _dump(payload), droppable=subtopic == TRACK_UPDATE)


def play_start_message(play: Play, audience: AudienceSnapshot, *, seq: int, now: datetime) -> FeedMessage:
    payload = _envelope("play.start", play.screen_id, seq, now)
    payload.update(
        {
            "play_id": play.play_id,
            "ad_id": play.ad_id,
            "advertiser": play.advertiser,
            "campaign": play.campaign,
            "rule": play.rule,
            "planned_s": _r(play.planned_s),
            "audience": {"known": audience.known, "present": audience.present, "watching": audience.watching},
        }
    )
    return FeedMessage(PLAY_START, _dump(payload))


def play_end_message(
    play: Play, audience: AudienceSnapshot, *, people_seen: int, people_watching: int, seq: int, now: datetime
) -> FeedMessage:
    """The play's outcome and its audience: now, and distinct people seen (and watching) during it."""
    payload = _envelope("play.end", play.screen_id, seq, now)
    payload.update(
        {
            "play_id": play.play_id,
            "ad_id": play.ad_id,
            "advertiser": play.advertiser,
            "campaign": play.campaign,
            "outcome": None if play.outcome is None else play.outcome.value,
            "planned_s": _r(play.planned_s),
            "actual_s": _r(play.actual_s),
            "audience": {
                "known": audience.known,
                "present": audience.present,
                "watching": audience.watching,
                "people_seen": people_seen,
                "people_watching": people_watching,
            },
        }
    )
    return FeedMessage(PLAY_END, _dump(payload))


def status_message(screen_id: str, online: bool, now: datetime | None = None) -> FeedMessage:
    """The retained ``status``; without ``now`` for the last will (the broker sends it later)."""
    payload: dict[str, object] = {
        "v": SCHEMA_VERSION,
        "event": "status",
        "screen_id": screen_id,
        "status": "online" if online else "offline",
    }
    if now is not None:
        payload["ts"] = now.isoformat(timespec="milliseconds")
    return FeedMessage(STATUS, _dump(payload), retain=True)
