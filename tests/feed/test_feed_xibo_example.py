"""docs/audience-feed.md's Xibo subscriber, run as written: feed on the real broker in, criteria out
to a local HTTP server standing in for the Xibo player's ``POST /criteria``."""

from __future__ import annotations

import json
import queue
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from feed_helpers import BROKER, clear_retained, person, scene, unique_screen

from signage.feed import AudienceFeed, FeedHub
from signage.feed.mqtt import Broker, MqttSink, broker_answers

DOC = Path(__file__).resolve().parents[2] / "docs" / "audience-feed.md"

pytestmark = pytest.mark.skipif(
    not broker_answers(*BROKER), reason="needs the Mosquitto broker at 127.0.0.1:1883"
)


def example_code() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    (code,) = [b for b in blocks if "XIBO_CRITERIA" in b]
    return code


class FakeXibo(ThreadingHTTPServer):
    def __init__(self) -> None:
        self.posts: queue.Queue[list[dict]] = queue.Queue()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                assert self.path == "/criteria"
                assert self.headers["Content-Type"] == "application/json"
                outer.posts.put(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


def criteria(items: list[dict]) -> dict[str, object]:
    assert all(set(i) == {"metric", "value", "ttl"} and i["ttl"] == 30 for i in items)
    return {i["metric"]: i["value"] for i in items}


def drive_until(posts: queue.Queue[list[dict]], want: dict[str, object], sample) -> None:  # type: ignore[no-untyped-def]
    """Feed samples (the subscriber may not have subscribed yet) until Xibo is told ``want``."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        sample(time.monotonic())
        try:
            if criteria(posts.get(timeout=0.1)) == want:
                return
        except queue.Empty:
            pass
    raise AssertionError(f"the Xibo player was never told {want}")


def test_the_documented_subscriber_sets_xibo_criteria_from_the_feed() -> None:
    screen = unique_screen()
    base = f"signage/{screen}/audience"
    xibo = FakeXibo()
    threading.Thread(target=xibo.serve_forever, daemon=True).start()
    namespace: dict[str, object] = {"__name__": "xibo_example"}
    exec(compile(example_code(), str(DOC), "exec"), namespace)
    namespace["FEED"] = f"{base}/track/#"
    namespace["XIBO_CRITERIA"] = f"http://127.0.0.1:{xibo.server_address[1]}/criteria"
    namespace["MIN_INTERVAL_S"] = 0.2
    stop = threading.Event()
    subscriber = threading.Thread(target=namespace["run"], args=(stop,))  # type: ignore[arg-type]
    subscriber.start()
    sink = MqttSink(Broker(*BROKER), f"{base}/status", screen)
    hub = FeedHub([sink], base)
    hub.start()
    try:
        nobody = {"audience_count": 0, "audience_gender": "unknown", "audience_age_band": "unknown"}
        drive_until(xibo.posts, nobody, lambda at: None)
        feed = AudienceFeed(hub, screen, max_updates_per_s=100.0)

        def three(at: float) -> None:
            child = person(4303, at, 0.0, classified=False)  # a possible minor: counted, never profiled
            feed.audience_sample(scene(at, person(4101, at, 0.0), person(4202, at, 0.0), child))

        drive_until(
            xibo.posts,
            {"audience_count": 3, "audience_gender": "female", "audience_age_band": "25-34"},
            three,
        )
        drive_until(xibo.posts, nobody, lambda at: feed.audience_sample(scene(at)))
    finally:
        stop.set()
        subscriber.join(10)
        hub.close()
        xibo.shutdown()
        xibo.server_close()
        clear_retained(f"{base}/status")
    assert not subscriber.is_alive()
