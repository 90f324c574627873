"""The ``feed:`` settings section: defaults, and located errors for what would fail later."""

from __future__ import annotations

from pathlib import Path

import pytest

from signage.feed.factory import base_topic
from signage.feed.mqtt import Broker
from signage.settings import Settings, load_settings
from signage.yamlconf import ConfigError


def load(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "signage.yaml"
    path.write_text(text)
    return load_settings(path)


def test_defaults() -> None:
    feed = Settings().feed
    assert feed.enabled == "auto" and feed.mqtt_url is None
    assert (feed.websocket_host, feed.websocket_port) == ("127.0.0.1", 8765)  # local only
    assert feed.max_updates_per_s == 1.0


def test_a_full_section(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        "screen_id: door/left\nfeed:\n  enabled: on\n  mqtt_url: mqtts://ops:s%40cret@broker.example.com\n"
        "  topic_prefix: acme/stores\n  websocket_port: null\n  max_updates_per_s: 4\n",
    )
    feed = settings.feed
    assert feed.enabled == "on" and feed.websocket_port is None and feed.max_updates_per_s == 4.0
    broker = Broker.from_url(feed.mqtt_url or "")
    assert (broker.host, broker.port, broker.tls, broker.username, broker.password) == (
        "broker.example.com", 8883, True, "ops", "s@cret",
    )  # fmt: skip
    assert broker.describe() == "mqtts://broker.example.com:8883"  # no password in logs
    assert base_topic(settings) == "acme/stores/door_left/audience"  # one topic level per screen


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("  mqtt_url: http://broker:1883", "not an MQTT URL"),
        ("  mqtt_url: mqtt://broker:99999", "not an MQTT URL"),
        ("  mqtt_url: mqtt://broker:1883/signage", "names the broker only"),
        ("  topic_prefix: signage/#", "no + or #"),
        ("  max_updates_per_s: 0", "greater than 0"),
        ("  enabled: maybe", "auto"),
    ],
)
def test_bad_values_are_located(tmp_path: Path, line: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, f"feed:\n  websocket_port: 8765\n{line}\n")
    (finding,) = info.value.findings
    assert finding.line == 3 and finding.key.startswith("feed.")
    assert words in finding.message
