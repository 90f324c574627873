"""Shared by the feed tests: snapshots of made-up people, the key allowlist, an MQTT subscriber."""

from __future__ import annotations

import json
import queue
import socket
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from signage.domain import AudienceSnapshot, Emotion, Track

BROKER = ("127.0.0.1", 1883)

# Every key a feed message may hold, level by level. Written out here (not imported from the
# code) so a new field has to be added on purpose: nothing identifying may slip in.
TOP_KEYS = {
    "v", "event", "screen_id", "seq", "ts", "topic", "status",
    "track", "dwell_s", "attention_s", "watching", "distance_m", "possible_minor", "attributes", "reason",
    "play_id", "ad_id", "advertiser", "campaign", "rule", "planned_s", "actual_s", "outcome", "audience",
}  # fmt: skip
ATTRIBUTE_KEYS = {"samples", "age_years", "age_std_years", "age_band", "p_female", "p_minor", "emotion_probs"}
AUDIENCE_KEYS = {"known", "present", "watching", "people_seen", "people_watching"}
EMOTION_KEYS = {e.value for e in Emotion}
HAPPY = (0.05, 0.0, 0.0, 0.8, 0.15, 0.0, 0.0)


def person(track_id: int, at: float, since: float, *, classified: bool = True, watching: bool = True,
           emotion: tuple[float, ...] | None = HAPPY) -> Track:  # fmt: skip
    dwell = at - since
    return Track(
        track_id=track_id,
        first_seen_mono=since,
        last_seen_mono=at,
        dwell_s=dwell,
        attention_s=dwell * 0.8 if watching else 0.0,
        watching=watching,
        distance_m=1.7,
        age_years=29.0 if classified else None,
        age_std_years=3.5 if classified else None,
        p_female=0.9 if classified else None,
        emotion_probs=emotion if classified else None,
        p_minor=0.01 if classified else None,
        possible_minor=not classified,
        samples=6 if classified else 0,
    )


def scene(at: float, *tracks: Track) -> AudienceSnapshot:
    return AudienceSnapshot(at_mono=at, known=True, tracks=tuple(tracks))


def check_anonymous(doc: dict, tracker_ids: Iterable[int] = ()) -> None:
    """Only allowlisted keys at every level; a person is a random hex token, never a tracker id."""
    assert set(doc) <= TOP_KEYS, set(doc) - TOP_KEYS
    attributes = doc.get("attributes")
    if attributes is not None:
        assert set(attributes) <= ATTRIBUTE_KEYS, set(attributes) - ATTRIBUTE_KEYS
        assert set(attributes.get("emotion_probs") or {}) <= EMOTION_KEYS
    if "audience" in doc:
        assert set(doc["audience"]) <= AUDIENCE_KEYS
    if "track" in doc:
        token = doc["track"]
        assert isinstance(token, str) and len(token) == 16 and int(token, 16) >= 0
        assert token not in {str(i) for i in tracker_ids}
    ids = {i for i in tracker_ids if i >= 1000}  # small ids (the real tracker's 1) pass for counts
    for value in _values(doc):
        if isinstance(value, int) and not isinstance(value, bool):
            assert value not in ids, f"a tracker id ({value}) is in the message"
        assert not isinstance(value, str) or len(value) <= 64  # no encoded image or embedding


def _values(obj: object) -> Iterator[object]:
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key != "seq":  # the message counter, not about a person
                yield from _values(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from _values(value)
    else:
        yield obj


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def unique_screen() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


@dataclass
class Received:
    topic: str
    doc: dict
    retain: bool


class Subscriber:
    """A paho subscriber on the real broker, collecting JSON messages in arrival order."""

    def __init__(self, pattern: str) -> None:
        import paho.mqtt.client as mqtt

        self.messages: queue.Queue[Received] = queue.Queue()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sub-{uuid.uuid4().hex[:8]}")
        self.client.on_connect = lambda c, *_: c.subscribe(pattern, qos=1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = lambda _c, _u, msg: self.messages.put(
            Received(msg.topic, json.loads(msg.payload) if msg.payload else {}, bool(msg.retain))
        )
        self.client.connect(*BROKER)
        self.client.loop_start()
        assert self._subscribed.wait(10), "the broker did not confirm the subscription"

    def take(self, n: int, timeout_s: float = 10.0) -> list[Received]:
        return [self.messages.get(timeout=timeout_s) for _ in range(n)]

    def until(self, predicate, timeout_s: float = 10.0) -> list[Received]:  # type: ignore[no-untyped-def]
        got: list[Received] = []
        while not got or not predicate(got[-1]):
            got.append(self.messages.get(timeout=timeout_s))
        return got

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@contextmanager
def subscribed(pattern: str) -> Iterator[Subscriber]:
    sub = Subscriber(pattern)
    try:
        yield sub
    finally:
        sub.close()


def clear_retained(topic: str) -> None:
    """Leave the broker as found: an empty retained message deletes the retained status."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"clear-{uuid.uuid4().hex[:8]}")
    client.connect(*BROKER)
    client.loop_start()
    client.publish(topic, payload=None, qos=1, retain=True).wait_for_publish(10)
    client.disconnect()
    client.loop_stop()
