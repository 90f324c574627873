"""The installed unit's command line, run as systemd would run it, against a fake notify socket.

PID 1 here is not systemd, so the suite cannot start the unit for real (scripts/systemd-demo.sh
does, as root, in a systemd-nspawn container); what systemd would see of it can be run here: the
ExecStart= command with $NOTIFY_SOCKET and $WATCHDOG_USEC set, and its console.
"""

from __future__ import annotations

import os
import pwd
import shlex
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from signage.service.install import InstallRequest, unit_spec
from signage.service.unit import render_unit
from signage.testing.fake_systemd import NotifySocket

pytestmark = pytest.mark.slow

NATIVE_NOISE = ("W0000", "I0000", "INFO: Created TensorFlow Lite", "absl::InitializeLog", "pygame community")


def exec_start(unit: str) -> tuple[list[str], dict[str, str]]:
    """ExecStart= split as systemd splits it, and the Environment= it sets."""
    argv: list[str] = []
    env: dict[str, str] = {}
    for line in unit.splitlines():
        if line.startswith("ExecStart="):
            argv = [
                w.replace("%%", "%").replace("$$", "$") for w in shlex.split(line.removeprefix("ExecStart="))
            ]
        elif line.startswith("Environment="):
            name, _, value = shlex.split(line.removeprefix("Environment="))[0].partition("=")
            env[name] = value
    return argv, env


def test_the_units_command_notifies_ready_pings_the_watchdog_and_says_stopping(tmp_path: Path) -> None:
    image = tmp_path / "slide.png"
    cv2.imwrite(str(image), np.full((240, 320, 3), (40, 160, 40), np.uint8))
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        f"ads:\n  - id: slide\n    media: {image.name}\n    advertiser: A\n    campaign: c\n    duration_s: 2\n"
    )
    config = tmp_path / "signage.yaml"
    # The simulated camera with perception on: MediaPipe and TFLite load, and must stay quiet.
    config.write_text(f"catalog: {catalog}\nrules: []\ncamera:\n  source: simulated\n")
    request = InstallRequest(
        user=pwd.getpwuid(os.getuid()).pw_name, data_dir=tmp_path / "data", config=config, display=None
    )
    command = str(Path(sys.executable).parent / "signage")
    argv, unit_env = exec_start(render_unit(unit_spec(request, command=command)))
    assert argv[:2] == [command, "run"] and "--headless" in argv

    server = NotifySocket.at(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WATCHDOG_PID")}
    env.update(unit_env, NOTIFY_SOCKET=server.address, WATCHDOG_USEC="2000000", SDL_AUDIODRIVER="dummy")
    messages: list[str] = []
    try:
        process = subprocess.Popen([*argv, "--duration", "8"], env=env, cwd=tmp_path,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        deadline = time.monotonic() + 240  # a bound against hanging the suite, not a speed assertion
        while process.poll() is None and time.monotonic() < deadline:
            messages += server.receive(0.5)
        out, err = process.communicate(timeout=30)
        messages += server.receive(0.5)
    finally:
        server.close()
    assert process.returncode == 0, err[-3000:]
    assert messages.count("READY=1") == 1
    ready = messages.index("READY=1")
    pings = [i for i, m in enumerate(messages) if m == "WATCHDOG=1"]
    assert (
        len(pings) >= 2 and pings[0] > ready
    )  # every 1 s (half of WATCHDOG_USEC) from the loop, after READY
    assert messages[-1] == "STOPPING=1"
    assert any(m.startswith("STATUS=playing, camera ") for m in messages)

    console = out + err
    noise = [line for line in console.splitlines() if any(n in line for n in NATIVE_NOISE)]
    assert noise == []
    first = [line.split(": ", 1)[1] for line in err.splitlines()[:6]]
    assert first[0].startswith("screen screen-1 in store store-1")
    assert first[1] == f"catalog {catalog} (sha256 {first[1].split('sha256 ')[1][:8]}, 1 ad listed)"
    assert any(line.startswith("models: face_attributes sha256 ") for line in first)
    assert first[-1] == f"database sqlite:///{tmp_path / 'data' / 'signage.db'}"
    assert "face-attribute model loaded" in err  # perception really ran
