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


def test_fake_reports_and_drops_what_the_real_store_refuses(caplog: pytest.LogCaptureFixture) -> None:
    sink = FakePlaySink()
    sink.play_started(make_play(0, play_id="7"))
    assert "not a UUID" in caplog.text
    assert sink.rejected == 1 and sink.plays == {} and sink.events == []


def test_fake_with_a_screen_id_reads_back_only_that_screens_history() -> None:
    sink = FakePlaySink(screen_id="screen-1")
    ours, theirs = make_play(0), make_play(1, screen_id="screen-2")
    sink.play_ended(ours)
    sink.play_ended(theirs)
    assert set(sink.plays) == {ours.play_id, theirs.play_id}
    assert [r.ad_id for r in sink.recent_plays(T0)] == [ours.ad_id]
    everyone = FakePlaySink()  # like StoreWriter(screen_id=None): every screen's plays
    everyone.play_ended(ours)
    everyone.play_ended(theirs)
    assert len(everyone.recent_plays(T0)) == 2
