"""The feed on the real Mosquitto broker at 127.0.0.1:1883, read back by a paho subscriber."""

from __future__ import annotations

import logging
import socket
import threading

import pytest
from feed_helpers import (
    BROKER,
    check_anonymous,
    clear_retained,
    free_port,
    person,
    scene,
    subscribed,
    unique_screen,
)

from signage.domain import AudienceSnapshot
from signage.feed import AudienceFeed, FeedHub, open_feed
from signage.feed import factory as feed_factory
from signage.feed.mqtt import Broker, MqttSink, broker_answers
from signage.settings import FeedSettings, Settings
from signage.testing.waiting import wait_for

A, B = 4101, 4202

pytestmark = pytest.mark.skipif(
    not broker_answers(*BROKER), reason="needs the Mosquitto broker at 127.0.0.1:1883"
)


def mqtt_feed(screen: str, rate: float = 100.0) -> tuple[AudienceFeed, FeedHub, MqttSink]:
    base = f"signage/{screen}/audience"
    sink = MqttSink(Broker(*BROKER), f"{base}/status", screen)
    assert wait_for(lambda: sink.connected), "could not connect to the broker"
    hub = FeedHub([sink], base)
    hub.start()
    return AudienceFeed(hub, screen, max_updates_per_s=rate), hub, sink


def test_a_subscriber_sees_enter_update_leave_and_the_status() -> None:
    screen = unique_screen()
    base = f"signage/{screen}/audience"
    try:
        with subscribed(f"{base}/#") as sub:
            feed, hub, _ = mqtt_feed(screen)
            online = sub.take(1)[0]
            assert online.topic == f"{base}/status" and online.doc["status"] == "online"
            feed.audience_sample(scene(1.0, person(A, 1.0, 1.0, classified=False)))
            feed.audience_sample(scene(1.5, person(A, 1.5, 1.0)))
            feed.audience_sample(scene(2.0, person(A, 2.0, 1.0)))
            feed.audience_sample(scene(2.5))
            got = sub.take(4)
            assert [m.topic.removeprefix(base + "/") for m in got] == [
                "track/enter", "track/update", "track/update", "track/leave",
            ]  # fmt: skip
            assert len({m.doc["track"] for m in got}) == 1
            assert got[1].doc["attributes"]["p_female"] == 0.9
            for m in got:
                check_anonymous(m.doc, (A,))
            hub.close()
            offline = sub.take(1)[0]
            assert offline.topic == f"{base}/status" and offline.doc["status"] == "offline"
        # The status is retained: a subscriber arriving later still learns the screen's state.
        with subscribed(f"{base}/status") as late:
            last = late.take(1)[0]
            assert last.retain and last.doc["status"] == "offline"
    finally:
        clear_retained(f"{base}/status")


def test_the_last_will_says_offline_when_the_connection_dies_and_paho_reconnects() -> None:
    screen = unique_screen()
    base = f"signage/{screen}/audience"
    try:
        with subscribed(f"{base}/status") as sub:
            _, hub, sink = mqtt_feed(screen)
            assert sub.take(1)[0].doc["status"] == "online"
            sock = sink._client.socket()
            assert isinstance(sock, socket.socket)
            sock.shutdown(2)  # the connection dies without a DISCONNECT: the broker sends the will
            will = sub.take(1)[0]
            assert will.doc["status"] == "offline" and "ts" not in will.doc
            again = sub.take(1, timeout_s=20)[0]  # paho reconnects by itself (1 s back-off)
            assert again.doc["status"] == "online"
            hub.close()
    finally:
        clear_retained(f"{base}/status")


def test_a_dead_broker_never_blocks_the_observer() -> None:
    screen = unique_screen()
    port = free_port()  # nothing listens there
    sink = MqttSink(Broker("127.0.0.1", port), f"signage/{screen}/audience/status", screen, max_queued=50)
    hub = FeedHub([sink], f"signage/{screen}/audience", max_messages=100)
    hub.start()
    feed = AudienceFeed(hub, screen, max_updates_per_s=100.0)
    done = threading.Event()

    def drive() -> None:
        for i in range(300):
            at = i / 10
            feed.audience_sample(scene(at, person(A, at, 0.0), person(B, at, 0.0)) if i % 50 else scene(at))
        done.set()

    worker = threading.Thread(target=drive)
    worker.start()
    worker.join(30)
    assert done.is_set(), "the observer blocked on a dead broker"
    assert not sink.connected
    closer = threading.Thread(target=hub.close)
    closer.start()
    closer.join(30)
    assert not closer.is_alive(), "closing the feed hung on a dead broker"


def test_a_generated_clip_through_the_real_perception_stage() -> None:
    """MediaPipe finds a real face (matplotlib's Grace Hopper photo) in generated frames; the feed
    reports her entering, updates while she stays, and her leaving once the frames are empty."""
    import cv2
    import numpy as np
    from matplotlib import cbook
    from matplotlib.image import imread

    from classifier.faces import MediaPipeFaces
    from signage.audience import FakeAttributeModel, FakeLatestFrame, Perception, PerceptionStage, Tracker
    from signage.camera.base import CameraFrame

    face = np.asarray(imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))))[
        60:420, 110:430, :3
    ]
    canvas = np.full((480, 640, 3), 90, dtype=np.uint8)
    canvas[100 : 100 + 270, 200:440] = cv2.resize(np.ascontiguousarray(face), (240, 270))
    empty = np.full((480, 640, 3), 90, dtype=np.uint8)
    frames = [canvas] * 40 + [empty] * 40  # 4 s with her, then 4 s without (tracks expire after 2 s)

    screen = unique_screen()
    base = f"signage/{screen}/audience"
    clock = [0.0]
    camera = FakeLatestFrame()
    detector = MediaPipeFaces()
    stage = PerceptionStage(
        camera,
        Perception(detector, Tracker(), FakeAttributeModel()),
        threading.Event(),
        clock=lambda: clock[0],
    )
    try:
        with subscribed(f"{base}/track/#") as sub:
            feed, hub, _ = mqtt_feed(screen, rate=2.0)
            ids: set[int] = set()
            snapshot: AudienceSnapshot | None = None
            for seq, image in enumerate(frames):
                clock[0] = seq / 10
                camera.put(CameraFrame(np.ascontiguousarray(image), clock[0], seq))
                stage.step()
                snapshot = stage.snapshot()
                ids.update(t.track_id for t in snapshot.tracks)
                feed.audience_sample(snapshot)
            assert snapshot is not None and snapshot.present == 0
            got = sub.until(lambda m: m.topic.endswith("/leave"))
            hub.close()
    finally:
        detector.close()
        clear_retained(f"{base}/status")
    kinds = [m.topic.rsplit("/", 1)[1] for m in got]
    assert ids == {1}
    assert kinds[0] == "enter" and kinds[-1] == "leave" and kinds.count("update") >= 4
    assert set(kinds[1:-1]) == {"update"}
    assert got[-2].doc["attributes"]["samples"] > 0  # the (fake) model classified her
    assert got[-2].doc["distance_m"] is not None
    for m in got:
        check_anonymous(m.doc, ids)


def test_open_feed_decides_in_one_line(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="signage.feed")
    screen = unique_screen()
    quiet = FeedSettings(websocket_port=None)
    try:
        assert open_feed(Settings(screen_id=screen, feed=quiet)) is None  # run, auto, nothing configured
        assert "audience feed off: no MQTT broker configured" in caplog.messages[-1]
        off = FeedSettings(enabled="off", mqtt_url="mqtt://127.0.0.1:1883", websocket_port=None)
        assert open_feed(Settings(screen_id=screen, feed=off), probe_local=True) is None
        assert "feed.enabled is off" in caplog.messages[-1]

        live = open_feed(Settings(screen_id=screen, feed=quiet), probe_local=True)  # the demo
        assert live is not None
        live.close()
        line = (
            "audience feed: no broker configured, one answers at 127.0.0.1:1883: publishing on MQTT"
            f" mqtt://127.0.0.1:1883 under signage/{screen}/audience/"
        )
        assert line in caplog.messages

        monkeypatch.setattr(feed_factory, "LOCAL_BROKER", Broker("127.0.0.1", free_port()))
        assert open_feed(Settings(screen_id=screen, feed=quiet), probe_local=True) is None
        assert caplog.messages[-1].endswith("none answers at 127.0.0.1:1883")
    finally:
        clear_retained(f"signage/{screen}/audience/status")
