"""Emergency alerts take the screen from the programme within 2 s and hold it until cleared or expired."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from screen_helpers import START, Rig, alert

from signage.clock import FakeClock
from signage.domain import PlayOutcome
from signage.fleet.directives import FakeDirectives, FileDirectives
from signage.fleet.protocol import ReleaseFile
from signage.playback.fake import FakePlayer
from signage.store.fake import FakePlaySink


def test_an_alert_preempts_the_ad_on_screen_within_two_seconds(tmp_path: Path) -> None:
    directives = FakeDirectives()
    rig = Rig(tmp_path, directives)
    rig.run_for(2.0)  # an ad is on screen, 3 s of it to go
    ad = rig.on_screen()
    assert ad in ("a", "b")
    directives.alerts = (alert(at=rig.clock.now_utc()),)
    appeared = rig.clock.monotonic()
    while rig.on_screen() != "alert:fire":
        rig.loop.step()
        rig.clock.advance(0.05)
        assert rig.clock.monotonic() - appeared <= 2.0, "the alert did not preempt within 2 s"
    cut = next(p for p in rig.plays() if p.ad_id == ad)
    assert cut.outcome is PlayOutcome.INTERRUPTED and cut.reason == "alert"
    assert cut.actual_s < 5.0
    assert rig.player.messages[-1] == ("alert:fire", "Please leave the store now", None)
    rig.run_for(1.0)
    assert rig.player.screenshots[-1].name.endswith("-alert:fire.png"), "the alert is what a screenshot shows"
    shown = rig.loop.plays_started
    rig.run_for(60.0)  # no ad while the alert holds the screen
    assert rig.on_screen() == "alert:fire" and rig.loop.plays_started == shown


def test_an_alert_shows_until_cleared_then_the_programme_resumes(tmp_path: Path) -> None:
    directives = FakeDirectives(alerts=(alert(),))
    rig = Rig(tmp_path, directives)
    rig.run_for(30.0)
    assert rig.player.shown == ["alert:fire"]
    directives.alerts = (dataclasses.replace(directives.alerts[0], cleared=True),)
    rig.run_for(6.0)
    assert rig.player.shown[1] in ("a", "b")
    (shown,) = [p for p in rig.plays() if p.ad_id == "alert:fire"]
    assert shown.outcome is PlayOutcome.ALERT and shown.reason == "cleared"
    assert shown.advertiser == "" and shown.campaign == "" and shown.rule == "alert"
    assert 29.9 <= shown.actual_s <= 30.1
    assert rig.plays(PlayOutcome.COMPLETED), "ads play again after the alert"
    assert "alert:fire" not in {r.ad_id for r in rig.loop.history}, "an alert is no play for caps"


def test_an_alert_with_an_end_expires_on_its_own(tmp_path: Path) -> None:
    rig = Rig(tmp_path, FakeDirectives(alerts=(alert(minutes=1),)))
    rig.run_for(59.0)
    assert rig.player.shown == ["alert:fire"]
    rig.run_for(2.0)
    assert rig.on_screen() in ("a", "b")
    (shown,) = rig.plays(PlayOutcome.ALERT)
    assert shown.reason == "expired" and shown.ended_at is not None
    assert abs((shown.ended_at - START).total_seconds() - 60.0) <= 0.1


def test_a_newer_alert_replaces_the_one_on_screen_as_a_new_display(tmp_path: Path) -> None:
    directives = FakeDirectives(alerts=(alert("flood"),))
    rig = Rig(tmp_path, directives)
    rig.run_for(5.0)
    directives.alerts = (alert("flood"), alert("fire", at=rig.clock.now_utc()))
    rig.run_for(1.0)
    assert rig.player.shown == ["alert:flood", "alert:fire"]
    first, second = rig.plays()
    assert (first.ad_id, first.outcome, first.reason) == (
        "alert:flood",
        PlayOutcome.ALERT,
        "replaced by alert:fire",
    )
    assert second.ad_id == "alert:fire" and second.ended_at is None


def test_an_alert_on_screen_at_shutdown_is_closed_as_an_alert(tmp_path: Path) -> None:
    rig = Rig(tmp_path, FakeDirectives(alerts=(alert(),)))
    rig.run_for(3.0)
    rig.loop.interrupt("player stopped")
    (shown,) = rig.plays()
    assert shown.outcome is PlayOutcome.ALERT and shown.reason == "player stopped"
    assert not rig.sink.open_plays()


def _write_alerts(directory: Path, *alerts: object) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "alerts.json").write_text(json.dumps([a.to_json() for a in alerts]))  # type: ignore[attr-defined]


def test_an_alert_survives_a_restart_and_shows_at_once(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet"
    blob = "ab" * 32
    (fleet / "blobs").mkdir(parents=True)
    (fleet / "blobs" / blob).write_bytes(b"png")
    media = ReleaseFile("media/exit.png", blob, 3)
    _write_alerts(fleet, alert(media=media))
    sink = FakePlaySink()
    clock = FakeClock(start_utc=START)
    first = Rig(tmp_path, FileDirectives(fleet, clock.monotonic), clock=clock, sink=sink)
    first.run_for(10.0)
    first.loop.interrupt("player stopped")  # the player stops (an update, a crash, a power cut)
    clock.advance(30.0)
    second = Rig(tmp_path, FileDirectives(fleet, clock.monotonic), clock=clock, sink=sink)
    second.loop.step()
    assert second.player.shown == ["alert:fire"], "the alert is the very first thing on screen"
    assert second.player.messages == [("alert:fire", "Please leave the store now", fleet / "blobs" / blob)]
    assert [p.ad_id for p in second.plays()] == ["alert:fire", "alert:fire"]


def test_a_cleared_alert_in_the_file_gives_the_screen_back(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet"
    _write_alerts(fleet, alert())
    clock = FakeClock(start_utc=START)
    rig = Rig(tmp_path, FileDirectives(fleet, clock.monotonic), clock=clock)
    rig.run_for(5.0)
    assert rig.player.shown == ["alert:fire"]
    _write_alerts(fleet, alert(cleared=True))
    rig.run_for(2.0)
    assert rig.on_screen() in ("a", "b")
    assert [p.reason for p in rig.plays(PlayOutcome.ALERT)] == ["cleared"]


def test_the_alert_picture_arriving_later_is_shown_as_a_new_display(tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(b"png")
    directives = FakeDirectives(alerts=(alert(media=ReleaseFile("media/exit.png", "ef" * 32, 3)),))
    rig = Rig(tmp_path, directives)
    rig.run_for(3.0)
    directives.media["fire"] = blob  # the agent finished downloading it
    rig.run_for(1.0)
    assert [m[2] for m in rig.player.messages] == [None, blob]
    first, second = rig.plays()
    assert (first.outcome, first.reason) == (PlayOutcome.ALERT, "alert updated") and second.ended_at is None


class FailingOnce(FakePlayer):
    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock.monotonic)
        self.failures = 1

    def show_message(self, item_id: str, text: str, image: Path | None, seconds: float) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the font cannot be loaded")
        super().show_message(item_id, text, image, seconds)


def test_an_alert_the_player_failed_to_show_is_tried_again(tmp_path: Path) -> None:
    rig = Rig(tmp_path, FakeDirectives(alerts=(alert(),)))
    rig.player = rig.loop.player = FailingOnce(rig.clock)
    with pytest.raises(RuntimeError):
        rig.loop.step()
    rig.loop.step()
    assert rig.player.shown == ["alert:fire"]
