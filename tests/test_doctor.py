"""``signage doctor``: each check on a broken and a sound set-up, and the fixes it names."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import pytest
from typer.testing import CliRunner

import signage.doctor as doctor
from signage.cli import app
from signage.doctor import Broker, Check, Context, Level, load_context, run_checks
from signage.doctor.camera import probe_camera
from signage.settings import CameraSettings, Settings

ROOT = os.geteuid() == 0


class DiskUsage(NamedTuple):
    total: int
    used: int
    free: int


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_missing_model_unwritable_data_dir_and_no_camera_give_three_located_fixes(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    config = tmp_path / "signage.yaml"
    config.write_text(f"data_dir: {blocker}/data\ncamera:\n  source: '63'\n")  # no /dev/video63
    empty_models = tmp_path / "models"
    empty_models.mkdir()
    result = CliRunner().invoke(
        app, ["doctor", "--config", str(config), "--models-dir", str(empty_models), "--camera-timeout-s", "2"]
    )
    assert result.exit_code == 1
    lines = {line.split()[1]: line for line in result.output.splitlines() if line.startswith("FAIL")}
    assert f"Model manifest {empty_models / 'manifest.yaml'} is missing" in lines["models"]
    assert f"fix: restore {empty_models}" in lines["models"]
    assert f"{blocker} is a file, not a folder" in lines["data"]
    assert f"set data_dir at {config}:1:11 to a writable folder" in lines["data"]
    assert "webcam 63" in lines["camera"]
    assert f"fix: set camera.source at {config}:3:11 to the camera" in lines["camera"]


def test_a_sound_set_up_passes_its_checks(tmp_path: Path) -> None:
    video = tmp_path / "camera.mp4"
    import cv2
    import numpy as np

    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"mp4v"), 25, (160, 120))
    for _ in range(20):
        writer.write(np.full((120, 160, 3), 90, np.uint8))
    writer.release()
    config = tmp_path / "signage.yaml"
    config.write_text(f"data_dir: data\ntimezone: Europe/Paris\ncamera:\n  source: {video}\n")
    ctx = load_context(config, camera_timeout_s=20.0)
    checks = by_name(run_checks(ctx, [doctor.check_settings, doctor.check_models, doctor.check_libvlc,
                                      *doctor.CONFIGURED]))  # fmt: skip
    assert all(c.level is Level.OK for c in checks.values()), [c.line() for c in checks.values()]
    assert "5 frames (160x120)" in checks["camera"].detail
    assert "will be created at first start" in checks["database"].detail
    assert not (tmp_path / "data").exists()  # the doctor created nothing


def test_invalid_settings_fail_with_their_location_and_skip_what_depends_on_them(tmp_path: Path) -> None:
    config = tmp_path / "signage.yaml"
    config.write_text("camera:\n  fps: 500\n")
    checks = by_name(run_checks(load_context(config), [doctor.check_settings, *doctor.CONFIGURED]))
    assert checks["settings"].level is Level.FAIL and f"{config}:2:8" in checks["settings"].detail
    assert {checks[n].level for n in ("camera", "data dir", "disk", "database")} == {Level.SKIP}


@pytest.mark.skipif(ROOT, reason="root may write anywhere")
def test_a_read_only_data_dir_fails(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o500)
    try:
        ctx = Context(Settings(data_dir=data), None)
        check = doctor.check_data_dir(ctx)
    finally:
        data.chmod(0o700)
    assert check.level is Level.FAIL and "not writable" in check.detail


def test_the_data_dir_fix_names_a_real_user_without_user_in_the_environment(tmp_path: Path) -> None:
    import pwd

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    settings = Settings(data_dir=blocker / "data")
    bare = doctor.check_data_dir(Context(settings, None, environ={}))  # a service, env -i
    me = pwd.getpwuid(os.geteuid()).pw_name
    assert bare.level is Level.FAIL and f"sudo install -d -o {me} {blocker / 'data'}," in bare.fix
    named = doctor.check_data_dir(Context(settings, None, environ={"USER": "signage"}))
    assert f"sudo install -d -o signage {blocker / 'data'}," in named.fix


def test_disk_free_thresholds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = Context(Settings(data_dir=tmp_path), None)
    for free, level in ((50 << 20, Level.FAIL), (600 << 20, Level.WARN), (5 << 30, Level.OK)):
        usage = DiskUsage(10 << 30, (10 << 30) - free, free)
        monkeypatch.setattr(doctor.shutil, "disk_usage", lambda _path, usage=usage: usage)
        assert doctor.check_disk(ctx).level is level


def test_display_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "X11_SOCKETS", tmp_path)
    settings = Settings()
    assert doctor.check_display(Context(settings, None, environ={})).level is Level.FAIL
    assert doctor.check_display(Context(settings, None, environ={"DISPLAY": ":5"})).level is Level.FAIL
    assert doctor.check_display(Context(settings, None, environ={"DISPLAY": "nonsense"})).level is Level.FAIL
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(tmp_path / "X5"))
    server.listen(1)
    try:
        assert doctor.check_display(Context(settings, None, environ={"DISPLAY": ":5"})).level is Level.OK
        unset = doctor.check_display(Context(settings, None, environ={}))
        assert unset.level is Level.WARN and "DISPLAY=:5 signage doctor" in unset.fix
    finally:
        server.close()


def test_clock_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "signage.yaml"
    config.write_text("screen_id: s\n")
    ctx = load_context(config, now=datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    monkeypatch.setattr(doctor, "system_zone", lambda: "UTC")
    assert doctor.check_clock(ctx, ntp=lambda: "yes").level is Level.OK
    assert doctor.check_clock(ctx, ntp=lambda: "no").level is Level.WARN
    unset = doctor.check_clock(load_context(config, now=datetime(2001, 1, 1, tzinfo=UTC)), ntp=lambda: None)
    assert unset.level is Level.FAIL and "never set" in unset.detail
    monkeypatch.setattr(doctor, "system_zone", lambda: "Europe/Paris")
    elsewhere = doctor.check_clock(ctx, ntp=lambda: None)
    assert elsewhere.level is Level.WARN
    assert (
        elsewhere.fix == f"set `timezone:` in {config} (not set there: the default applies) to Europe/Paris"
    )


def test_broker_check_on_the_local_mosquitto_and_on_a_closed_port() -> None:
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=1).close()
    except OSError:
        pytest.fail("Mosquitto should listen on 127.0.0.1:1883 on these machines and in CI", pytrace=False)
    settings = Settings()
    assert doctor.check_broker(Context(settings, None, broker=Broker("127.0.0.1", 1883))).level is Level.OK
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    closed = probe.getsockname()[1]
    probe.close()
    down = doctor.check_broker(Context(settings, None, broker=Broker.from_url(f"127.0.0.1:{closed}")))
    assert down.level is Level.FAIL and f"127.0.0.1:{closed} unreachable" in down.detail
    assert doctor.check_broker(Context(settings, None)).level is Level.SKIP


def test_broker_urls_and_the_feed_setting(tmp_path: Path) -> None:
    assert Broker.from_url("mqtts://u:p@broker.example.com") == Broker(
        "broker.example.com", 8883, True, "u", "p"
    )
    assert Broker.from_url("10.0.0.2") == Broker("10.0.0.2", 1883)
    config = tmp_path / "signage.yaml"
    config.write_text("feed:\n  mqtt_url: mqtt://127.0.0.1:1883\n")
    ctx = load_context(config)
    if "feed" not in Settings.model_fields:  # the feed settings arrive with the audience feed
        pytest.skip("no feed settings in this version")
    assert doctor.configured_broker(ctx.settings) == Broker("127.0.0.1", 1883)
    assert doctor.check_broker(ctx).level is Level.OK


def test_database_check_writes_nothing_and_knows_foreign_migrations(tmp_path: Path) -> None:
    from signage.store.engine import make_engine
    from signage.store.migrate import head_revision, upgrade

    settings = Settings(data_dir=tmp_path)
    engine = make_engine(settings.resolved_database_url())
    upgrade(engine)
    engine.dispose()
    ok = doctor.check_database(Context(settings, None))
    assert ok.level is Level.OK and f"at {head_revision()}" in ok.detail and "rolled back" in ok.detail
    db = sqlite3.connect(tmp_path / "signage.db")
    assert db.execute("select version_num from alembic_version").fetchall() == [(head_revision(),)]
    db.execute("update alembic_version set version_num = '9999_future'")
    db.commit()
    db.close()
    future = doctor.check_database(Context(settings, None))
    assert future.level is Level.FAIL and "9999_future" in future.detail


def test_camera_keywords() -> None:
    where = "camera.source at x.yaml:3:11"
    assert probe_camera(CameraSettings(source="none"), where, 1.0).level is Level.FAIL
    assert probe_camera(CameraSettings(source="simulated"), where, 1.0).level is Level.WARN
    auto = probe_camera(CameraSettings(source="auto"), where, 1.0, find=lambda _s: None)
    assert auto.level is Level.FAIL and "no webcam opens" in auto.detail and where in auto.fix


def test_an_absent_webcam_is_one_line_with_no_native_opencv_lines(capfd: pytest.CaptureFixture[str]) -> None:
    """OpenCV writes its own ``[ERROR:0@...] ... Camera index out of range`` to fd 2 when a device
    number is not there; the doctor's line says it, so nothing else may reach the console."""
    import cv2

    before = cv2.getLogLevel()
    check = probe_camera(CameraSettings(source="63"), "camera.source at x.yaml:3:11", 2.0)  # no /dev/video63
    assert check.level is Level.FAIL and "webcam 63" in check.detail
    native = [line for line in capfd.readouterr().err.splitlines() if "[ERROR:" in line or "[ WARN:" in line]
    assert native == []
    assert cv2.getLogLevel() == before  # OpenCV's logging is as it was


def test_json_output_and_exit_code(tmp_path: Path) -> None:
    config = tmp_path / "signage.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\ncamera:\n  source: none\nperception:\n  enabled: false\n"
    )
    result = CliRunner().invoke(app, ["doctor", "--config", str(config), "--json"])
    checks = {c["check"]: c for c in json.loads(result.output)}
    assert checks["camera"]["level"] == "fail" and checks["models"]["level"] == "skip"
    assert result.exit_code == 1
