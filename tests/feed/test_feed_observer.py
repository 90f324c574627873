"""The feed observer on a recording queue: enter/update/leave from snapshot diffs, tokens, rate limit."""

from __future__ import annotations

import itertools
import json
import threading
from datetime import UTC, datetime

import pytest
from feed_helpers import check_anonymous, person, scene

from signage.domain import AudienceSnapshot, Play, PlayOutcome
from signage.feed import AudienceFeed, FeedHub, FeedMessage, RecordingSink, TokenBucket

A, B = 4101, 4202  # tracker ids: large, so an id in a message cannot pass for a count
NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


class Queue:
    def __init__(self) -> None:
        self.items: list[FeedMessage] = []

    def put(self, message: FeedMessage) -> None:
        self.items.append(message)

    def docs(self) -> list[dict]:
        return [json.loads(m.body) for m in self.items]


def make(rate: float = 100.0, emotion: bool = True) -> tuple[AudienceFeed, Queue]:
    q = Queue()
    return AudienceFeed(
        q, "screen-1", max_updates_per_s=rate, estimate_emotion=emotion, now_utc=lambda: NOW
    ), q


def play(ad: str = "coffee", outcome: PlayOutcome | None = None) -> Play:
    return Play(
        play_id="6f1c7a52-5d1e-4a43-9a37-2a1b7c9e0d11",
        screen_id="screen-1",
        ad_id=ad,
        advertiser="Acme",
        campaign="morning",
        started_at=NOW,
        ended_at=NOW if outcome else None,
        planned_s=8.0,
        actual_s=8.0 if outcome else 0.0,
        outcome=outcome,
        rule="coffee-mornings",
    )


def test_enter_update_leave_from_snapshot_diffs() -> None:
    feed, q = make()
    feed.audience_sample(scene(10.0, person(A, 10.0, 10.0, classified=False)))
    feed.audience_sample(scene(10.5, person(A, 10.5, 10.0), person(B, 10.5, 10.5)))
    feed.audience_sample(scene(11.0, person(B, 11.0, 10.5)))  # A left
    feed.audience_sample(scene(11.5))  # B left
    events = [(d["event"], d["track"]) for d in q.docs()]
    a, b = events[0][1], events[2][1]
    assert events == [
        ("track.enter", a),
        ("track.update", a),
        ("track.enter", b),
        ("track.leave", a),
        ("track.update", b),
        ("track.leave", b),
    ]
    assert a != b
    docs = q.docs()
    assert docs[0]["attributes"] is None and docs[0]["possible_minor"] is True  # not classified yet
    update = docs[1]
    assert update["dwell_s"] == 0.5 and update["attention_s"] == 0.4 and update["distance_m"] == 1.7
    attrs = update["attributes"]
    assert attrs["age_years"] == 29.0 and attrs["age_std_years"] == 3.5 and attrs["age_band"] == "25-34"
    assert attrs["p_female"] == 0.9 and attrs["emotion_probs"]["happy"] == 0.8
    assert docs[3]["reason"] == "left" and docs[3]["dwell_s"] == 0.5  # A's last seen state
    assert [d["seq"] for d in docs] == list(range(1, 7))
    for doc in docs:
        check_anonymous(doc, (A, B))


def test_a_token_lives_only_as_long_as_the_tracker_keeps_its_track() -> None:
    feed, q = make()  # the re-entry window: 10 s
    feed.audience_sample(scene(1.0, person(A, 1.0, 1.0)))
    feed.audience_sample(scene(2.0))
    feed.audience_sample(scene(8.0, person(A, 8.0, 1.0)))  # back within the window: the same person
    feed.audience_sample(scene(9.0))
    feed.audience_sample(scene(19.5))  # 10.5 s later: the tracker has forgotten it, and so has the feed
    feed.audience_sample(scene(20.0, person(A, 20.0, 20.0)))  # the same id again: a new person
    events = [(d["event"], d["track"]) for d in q.docs()]
    first, second = events[0][1], events[-1][1]
    assert [e for e, _ in events] == ["track.enter", "track.leave"] * 2 + ["track.enter"]
    assert {t for _, t in events[:4]} == {first} and second != first  # two visits are never linked


def test_camera_offline_makes_everyone_leave() -> None:
    feed, q = make()
    feed.audience_sample(scene(1.0, person(A, 1.0, 1.0), person(B, 1.0, 1.0)))
    feed.audience_sample(AudienceSnapshot.unknown(1.5))
    leaves = [d for d in q.docs() if d["event"] == "track.leave"]
    assert len(leaves) == 2 and {d["reason"] for d in leaves} == {"audience_unknown"}


def test_updates_per_person_are_rate_limited() -> None:
    feed, q = make(rate=2.0)
    sent_at: dict[str, list[float]] = {}
    for i in range(31):  # 3 s at 10 samples a second, two people
        at = 100.0 + i / 10
        before = len(q.items)
        feed.audience_sample(scene(at, person(A, at, 100.0), person(B, at, 100.0)))
        for doc in q.docs()[before:]:
            if doc["event"] == "track.update":
                sent_at.setdefault(doc["track"], []).append(at)
    assert len(sent_at) == 2
    for times in sent_at.values():
        assert 5 <= len(times) <= 7  # 2 a second over 3 s
        assert all(b - a >= 0.5 - 1e-6 for a, b in itertools.pairwise(times))
    assert feed.updates_limited == 2 * 30 - sum(len(t) for t in sent_at.values())


def test_token_bucket() -> None:
    bucket = TokenBucket(rate_per_s=4.0, now=0.0, capacity=2.0, tokens=2.0)
    assert [bucket.take(0.0) for _ in range(3)] == [True, True, False]
    assert bucket.take(0.25) and not bucket.take(0.25)
    assert not bucket.take(0.1)  # time going backwards adds nothing
    assert bucket.take(10.0) and bucket.take(10.0) and not bucket.take(10.0)  # capped at capacity
    with pytest.raises(ValueError):
        TokenBucket(rate_per_s=0.0, now=0.0)


def test_no_emotion_is_sent_when_emotion_estimation_is_off() -> None:
    for emotion in (True, False):
        feed, q = make(emotion=emotion)
        feed.audience_sample(scene(1.0, person(A, 1.0, 1.0)))
        assert ("emotion_probs" in q.docs()[0]["attributes"]) is emotion


def test_play_start_and_end_carry_the_audience() -> None:
    feed, q = make()
    feed.play_started(play(), scene(1.0, person(A, 1.0, 0.0)))
    feed.audience_sample(scene(1.5, person(A, 1.5, 0.0), person(B, 1.5, 1.5, watching=False)))
    feed.audience_sample(scene(2.0, person(B, 2.0, 1.5, watching=False)))
    feed.play_ended(play(outcome=PlayOutcome.COMPLETED), scene(2.5, person(B, 2.5, 1.5)))
    docs = q.docs()
    start = next(d for d in docs if d["event"] == "play.start")
    end = next(d for d in docs if d["event"] == "play.end")
    assert (
        start["ad_id"] == "coffee" and start["campaign"] == "morning" and start["rule"] == "coffee-mornings"
    )
    assert start["audience"] == {"known": True, "present": 1, "watching": 1}
    assert end["outcome"] == "completed" and end["actual_s"] == 8.0 and end["play_id"] == start["play_id"]
    # B watched at the very end: two people seen during the play, both watched at some sample.
    assert end["audience"] == {
        "known": True,
        "present": 1,
        "watching": 1,
        "people_seen": 2,
        "people_watching": 2,
    }
    assert docs.index(start) < docs.index(end)
    for doc in docs:
        check_anonymous(doc, (A, B))


def test_the_standby_slide_is_not_a_play() -> None:
    feed, q = make()
    feed.play_started(play("standby"), scene(1.0))
    feed.play_ended(play("standby", PlayOutcome.COMPLETED), scene(2.0))
    assert q.items == []


def test_stopping_the_feed_makes_everyone_leave() -> None:
    feed, q = make()
    feed.audience_sample(scene(1.0, person(A, 1.0, 1.0)))
    feed.close()
    assert q.docs()[-1]["event"] == "track.leave" and q.docs()[-1]["reason"] == "feed_stopped"


class StuckSink:
    """A transport that hangs on its first message until released."""

    name = "stuck"

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.sent = 0

    def send(self, topic: str, message: FeedMessage) -> None:
        self.entered.set()
        self.release.wait()
        self.sent += 1

    def close(self) -> None:
        self.release.set()


def test_a_stuck_transport_never_blocks_the_observer_and_drops_are_counted() -> None:
    sink = StuckSink()
    hub = FeedHub([sink], "signage/screen-1/audience", max_messages=10)
    hub.start()
    feed = AudienceFeed(hub, "screen-1", max_updates_per_s=100.0)
    feed.audience_sample(scene(0.0, person(A, 0.0, 0.0)))  # enter: the sink takes it and hangs
    assert sink.entered.wait(10)
    done = threading.Event()

    def drive() -> None:
        for i in range(1, 51):
            feed.audience_sample(scene(i / 10, person(A, i / 10, 0.0)))  # 50 updates
        done.set()

    worker = threading.Thread(target=drive)
    worker.start()
    worker.join(30)
    assert done.is_set(), "the observer blocked on a stuck transport"
    assert hub.pending() == 10 and hub.dropped == 40  # the oldest 40 updates went
    sink.release.set()
    hub.close()
    assert sink.sent == 11  # the first message and the 10 newest


def test_a_failing_transport_does_not_stop_the_others() -> None:
    class Broken:
        name = "broken"

        def send(self, topic: str, message: FeedMessage) -> None:
            raise OSError("network unreachable")

        def close(self) -> None:
            raise OSError("still unreachable")

    good = RecordingSink()
    hub = FeedHub([Broken(), good], "signage/s/audience")
    hub.start()
    feed = AudienceFeed(hub, "s")
    feed.audience_sample(scene(0.0, person(A, 0.0, 0.0)))
    feed.audience_sample(scene(1.0))
    hub.close()
    assert [t for t, _ in good.sent] == ["signage/s/audience/track/enter", "signage/s/audience/track/leave"]
    assert good.closed
