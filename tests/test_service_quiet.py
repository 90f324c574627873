"""A quiet console for the service's journal: native library noise is filtered, everything else passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from signage.quiet import StderrFilter, is_native_noise, set_native_log_env
from signage.settings import PerceptionSettings, Settings
from signage.startup import model_summary, startup_lines

NOISE = [
    b"W0000 00:00:1796161044.212911   12723 inference_feedback_manager.cc:114] Feedback manager requires ...",
    b"I1211 09:52:24.071000 1866800 gl_context.cc:361] GL version: 3.0",
    b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    b"Warning: using insecure memory!",
]
KEPT = [
    b"E0000 00:00:1796161044.2 12723 calculator_graph.cc:887] a real error",  # errors pass
    b"2026-12-01 21:37:21,826 INFO    signage.startup: screen screen-1",
    b"[00007f] main libvlc error: cannot open file",
    b"Traceback (most recent call last):",
]


def test_noise_and_the_rest() -> None:
    assert all(is_native_noise(line) for line in NOISE)
    assert not any(is_native_noise(line) for line in KEPT)


def test_the_filter_drops_native_lines_written_to_the_descriptor(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()  # stands in for the terminal
    target = os.dup(write_end)  # stands in for fd 2
    os.close(write_end)
    quiet = StderrFilter(target).install()
    lines = [NOISE[0], KEPT[0], NOISE[2], KEPT[1], NOISE[3], KEPT[2]]
    os.write(target, b"\n".join(lines[:3]) + b"\n")  # several lines in one write
    os.write(target, lines[3] + b"\n" + lines[4][:20])  # a line split across writes
    os.write(target, lines[4][20:] + b"\n" + lines[5])  # the last one without its newline
    quiet.close()
    os.close(target)
    with os.fdopen(read_end, "rb") as terminal:
        assert terminal.read() == KEPT[0] + b"\n" + KEPT[1] + b"\n" + KEPT[2]
    assert quiet.dropped == 3


def test_native_log_env_is_a_default_not_an_override() -> None:
    env = {"GLOG_minloglevel": "0"}
    set_native_log_env(env)
    assert env["GLOG_minloglevel"] == "0" and env["TF_CPP_MIN_LOG_LEVEL"] == "3"


def test_library_info_lines_stay_off_the_console(tmp_path: Path) -> None:
    """Under the entry point's logging, the feed's WebSocket starts and stops without websockets'
    own INFO lines ("server listening on ...": the feed's line says where it serves); its errors pass."""
    script = (
        "import logging\n"
        "from signage.quiet import quiet_console\n"
        "from signage.cli.common import setup_logging\n"
        "from signage.feed.websocket import WebSocketSink\n"
        "quiet_console()\n"
        "setup_logging('INFO')\n"
        "sink = WebSocketSink('127.0.0.1', 0, 'signage/s1/audience/status', 's1')\n"
        "sink.close()\n"
        "logging.getLogger('websockets.server').error('a real websockets error')\n"
        "logging.getLogger('signage.feed.factory').info('ours')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})  # fmt: skip
    lines = done.stderr.decode().splitlines()
    assert not [line for line in lines if "server listening" in line or "server clos" in line], lines
    assert any(line.endswith("websockets.server: a real websockets error") for line in lines), lines
    assert any(line.endswith("signage.feed.factory: ours") for line in lines), lines


def test_the_signage_command_filters_its_children_too(tmp_path: Path) -> None:
    """Native lines a library writes straight to fd 2 under the real entry point are dropped."""
    script = (
        "import os, sys\n"
        "from signage.quiet import quiet_console\n"
        "quiet_console()\n"
        f"os.write(2, {NOISE[0]!r} + b'\\n' + {KEPT[2]!r} + b'\\n')\n"
        "print('python stderr', file=sys.stderr)\n"
        "os.system('echo \"I0000 00:00:1.5 7 child.cc:1] from a child\" >&2; echo child-kept >&2')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})  # fmt: skip
    assert sorted(done.stderr.decode().splitlines()) == sorted(
        [KEPT[2].decode(), "python stderr", "child-kept"]
    )


def test_startup_lines_say_what_runs(tmp_path: Path) -> None:
    models = Path(__file__).resolve().parents[1] / "models"
    settings = Settings(
        data_dir=tmp_path, rules=(), database_url="postgresql+psycopg://signage:s3cret@db:5432/signage"
    ).model_copy(
        update={"camera": Settings().camera.model_copy(update={"source": "rtsp://cam:pw@10.0.0.5/live"})}
    )
    lines = startup_lines(settings, models)
    text = "\n".join(lines)
    assert "s3cret" not in text and ":pw@" not in text
    assert "database postgresql+psycopg://signage:***@db:5432/signage" in lines
    assert "rules: none (the house rotation plays)" in lines
    assert "camera rtsp://***@10.0.0.5/live, perception on, privacy notice on" in lines
    assert "models: face_attributes sha256 " in text and "held-out age MAE" in text
    assert len(lines) <= 6
    no_emotion = settings.model_copy(update={"perception": PerceptionSettings(estimate_emotion=False)})
    assert (
        "camera rtsp://***@10.0.0.5/live, perception on (no emotion: perception.estimate_emotion is false),"
        " privacy notice on"
    ) in startup_lines(no_emotion, models)
    assert model_summary(tmp_path) == f"Model manifest {tmp_path / 'manifest.yaml'} is missing."
