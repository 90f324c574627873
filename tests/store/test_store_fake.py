from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from signage.store import FakePlaySink, Heartbeat, PlaySink
from signage.testing.sample_plays import T0
from signage.testing.sample_plays import sample_play as make_play


def test_fake_keeps_the_latest_version_and_the_call_order() -> None:
    sink: PlaySink = FakePlaySink()
    assert isinstance(sink, FakePlaySink)
    play = make_play(1)
    sink.play_started(replace(play, ended_at=None, outcome=None))
    sink.play_ended(play)
    sink.write_heartbeat(Heartbeat("screen-1", "store-1", T0))
    assert sink.plays == {play.play_id: play}
    assert [e for e, _ in sink.events] == ["started", "ended"]
    assert not sink.open_plays()
    assert [r.ad_id for r in sink.recent_plays(T0 + timedelta(seconds=10))] == [play.ad_id]
    assert sink.recent_plays(T0 + timedelta(seconds=11)) == []
    sink.close()
    with pytest.raises(RuntimeError):
        sink.play_started(make_play(2))


def test_fake_refuses_what_the_real_store_refuses() -> None:
    with pytest.raises(ValueError, match="not a UUID"):
        FakePlaySink().play_started(make_play(0, play_id="7"))
