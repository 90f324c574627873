"""One parse of a broker URL for the feed, the fleet and ``signage doctor --broker``."""

from __future__ import annotations

import pytest

from signage.doctor import Broker as DoctorBroker
from signage.feed.broker import Broker
from signage.feed.mqtt import Broker as FeedBroker


@pytest.mark.parametrize(
    ("url", "broker"),
    [
        ("mqtt://10.0.0.2", Broker("10.0.0.2", 1883)),
        ("mqtts://broker.example.com", Broker("broker.example.com", 8883, tls=True)),
        ("mqtt://u%40shop:p%3Aw@host:1884", Broker("host", 1884, False, "u@shop", "p:w")),
        ("10.0.0.2", Broker("10.0.0.2", 1883)),  # the doctor's bare --broker
        ("10.0.0.2:1999", Broker("10.0.0.2", 1999)),
    ],
)
def test_broker_urls(url: str, broker: Broker) -> None:
    assert Broker.from_url(url) == broker


def test_the_password_is_never_in_the_description() -> None:
    assert Broker.from_url("mqtts://u:secret@host").describe() == "mqtts://host:8883"


def test_feed_and_doctor_use_the_one_broker() -> None:
    assert FeedBroker is Broker and DoctorBroker is Broker
