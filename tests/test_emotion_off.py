"""perception.estimate_emotion: false (EU AI Act Art. 50(3) notice): no emotion is estimated, stored,
reported or published, the notice does not name it, and rules that name emotion are refused."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from classifier.faces import FakeFaceDetector
from classifier.types import FaceAttributes, FaceObservation
from signage.audience import FakeAttributeModel, Perception, Tracker
from signage.audience.config import TrackerConfig
from signage.cli import rules as rules_cli
from signage.domain import AudienceSnapshot, Play, PlayOutcome
from signage.impressions.observer import ImpressionObserver
from signage.impressions.sink import MemoryImpressionSink
from signage.impressions.tables import impression_rows
from signage.reports.model import CampaignFigures, Figures, Report, ReportFilter
from signage.reports.render import render
from signage.settings import DisplaySettings, PerceptionSettings, Settings
from signage.targeting.holder import rules_reloader

FACE = FaceObservation(x=200.0, y=120.0, width=120.0, height=120.0, score=0.95, yaw_deg=0.0, pitch_deg=0.0)
HAPPY_WOMAN = FaceAttributes(
    age_years=30.0, age_std_years=3.0, p_female=0.95, emotion_probs=(0, 0, 0, 0.9, 0.1, 0, 0)
)
IMAGE = np.zeros((480, 640, 3), dtype=np.uint8)
T0 = datetime(2026, 12, 5, 10, tzinfo=UTC)

RULES_WITH_EMOTION = """\
rules:
  - id: cheer-up
    audience:
      gender: female
      emotion: [sad]
    play: {ads: [coffee]}
"""
RULES_WITHOUT_EMOTION = "rules:\n  - id: women\n    audience: {gender: female}\n    play: {ads: [coffee]}\n"
MESSAGE = (
    "emotion estimation is switched off in settings (perception.estimate_emotion); this rule cannot be used"
)


def perceive(estimate_emotion: bool, frames: int = 30) -> list[AudienceSnapshot]:
    config = TrackerConfig.from_settings(PerceptionSettings(estimate_emotion=estimate_emotion))
    perception = Perception(
        FakeFaceDetector([[FACE]], loop=True),
        Tracker(config),
        FakeAttributeModel(lambda crop: HAPPY_WOMAN),
        cropper=lambda image, face: np.zeros((32, 32, 3), dtype=np.uint8),
    )
    return [perception.process(IMAGE, i / 10) for i in range(frames)]


@pytest.mark.parametrize("estimate_emotion", [True, False])
def test_no_emotion_is_estimated_or_stored(estimate_emotion: bool) -> None:
    snapshots = perceive(estimate_emotion)
    last = snapshots[-1].tracks[0]
    assert last.p_female is not None and last.age_years is not None  # still classified
    assert (last.emotion_probs is not None) is estimate_emotion
    assert (snapshots[-1].mood() != {}) is estimate_emotion

    sink = MemoryImpressionSink()
    observer = ImpressionObserver(sink, threshold_s=0.5, before_window_s=1.0)
    for snapshot in snapshots[:10]:
        observer.audience_sample(snapshot)
    play = Play(str(uuid.uuid4()), "s1", "coffee", "acme", "morning", T0, None, 2.0, 0.0, None)
    observer.play_started(play, snapshots[10])
    for snapshot in snapshots[11:-1]:
        observer.audience_sample(snapshot)
    ended = Play(**{**play.__dict__, "ended_at": T0, "actual_s": 2.0, "outcome": PlayOutcome.COMPLETED})
    observer.play_ended(ended, snapshots[-1])
    ((impression, screen, at),) = sink.recorded
    row, tracks = impression_rows(impression, screen, at)
    assert row.viewers == 1 and row.v_25_34_f == 1  # age and gender are still measured
    filled = (row.happy_before, row.classified_before, row.happy_during, row.classified_during)
    assert filled == ((1, 1, 1, 1) if estimate_emotion else (0, 0, 0, 0))
    assert [t.emotion for t in tracks] == (["happy"] if estimate_emotion else [None])


def test_the_notice_names_expression_only_while_it_is_estimated() -> None:
    on = Settings().notice_text()
    off = Settings(perception=PerceptionSettings(estimate_emotion=False)).notice_text()
    for text in (on, off):
        assert "age range" in text and "gender" in text and "Nothing that identifies you is stored" in text
    assert "expression" in on and "expression" not in off
    own = Settings(
        display=DisplaySettings(privacy_notice_text="Camera in use."),
        perception=PerceptionSettings(estimate_emotion=False),
    ).notice_text()
    assert own == "Camera in use."  # an operator's own wording is theirs


def cli_check(tmp_path: Path, rules: str, estimate_emotion: bool) -> tuple[int, str]:
    (tmp_path / "store.yaml").write_text(rules)
    (tmp_path / "catalog.yaml").write_text(
        "ads:\n  - {id: coffee, media: coffee.png, advertiser: A, campaign: c, duration_s: 8}\n"
    )
    flag = "true" if estimate_emotion else "false"
    config = tmp_path / "signage.yaml"
    config.write_text(
        f"catalog: catalog.yaml\nrules: [store.yaml]\nperception:\n  estimate_emotion: {flag}\n"
    )
    app = typer.Typer()
    rules_cli.register(app)
    app.command("noop")(lambda: None)
    result = CliRunner().invoke(app, ["rules", "check", "--config", str(config)])
    return result.exit_code, result.stdout


def test_rules_check_refuses_a_rule_naming_emotion_when_it_is_off(tmp_path: Path) -> None:
    code, out = cli_check(tmp_path, RULES_WITH_EMOTION, estimate_emotion=False)
    assert code == 1
    assert (
        out.splitlines()[0] == f"{tmp_path / 'store.yaml'}:5:16: error: {MESSAGE} (rules[0].audience.emotion)"
    )
    assert cli_check(tmp_path, RULES_WITH_EMOTION, estimate_emotion=True)[0] == 0
    assert cli_check(tmp_path, RULES_WITHOUT_EMOTION, estimate_emotion=False)[0] == 0


def test_the_player_keeps_refusing_it_on_reload(tmp_path: Path) -> None:
    path = tmp_path / "store.yaml"
    path.write_text(RULES_WITH_EMOTION)
    now = [0.0]
    reloader = rules_reloader([path], ZoneInfo("UTC"), lambda: now[0], estimate_emotion=False)
    reloader.check()
    assert not reloader.status.valid
    assert f"{path}:5:16" in reloader.status.error and MESSAGE in reloader.status.error
    assert reloader.current().rules == ()  # nothing in force
    path.write_text(RULES_WITHOUT_EMOTION)
    now[0] += 5.0
    reloader.check()
    status = reloader.status  # read afresh: check() changed it since the assert above
    assert status.valid and [r.rule_id for r in reloader.current().rules] == ["women"]


def report(classified: int) -> Report:
    figures = Figures(plays=4, known_plays=4, ots=6, viewers=3, happy_during=classified // 2,
                      classified_during=classified, classified_before=classified)  # fmt: skip
    return Report(
        title="Acme", filter=ReportFilter(), timezone="UTC", generated_at=T0, first_play=T0, last_play=T0,
        total=figures, campaigns=(CampaignFigures("Acme", "morning", figures),), ads=(), screens=(),
        days=(), heatmap=(), peaks=(), demographics=(),
    )  # fmt: skip


def test_reports_hide_the_happy_share_when_no_emotion_was_measured() -> None:
    measured, unmeasured = (render(report(n), "html").decode() for n in (4, 0))
    assert "Happy faces" in measured and "happy before" in measured and 'alt="Emotional response"' in measured
    assert "Happy faces" not in unmeasured and "happy before" not in unmeasured
    assert 'alt="Emotional response"' not in unmeasured


def test_the_feed_sends_no_emotion_when_it_is_off() -> None:
    from signage.feed import AudienceFeed

    sent: list[str] = []

    class Queue:
        def put(self, message) -> None:  # type: ignore[no-untyped-def]
            sent.append(message.body)

    feed = AudienceFeed(Queue(), "s1", estimate_emotion=False)
    for snapshot in perceive(estimate_emotion=True, frames=10):  # even if a track carried emotion
        feed.audience_sample(snapshot)
    assert sent and not any("emotion" in body or "happy" in body for body in sent)


def test_threads_are_not_left_behind() -> None:
    assert not [t for t in threading.enumerate() if t.name in ("audience-feed", "feed-websocket")]
