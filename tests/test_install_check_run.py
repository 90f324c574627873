"""The installer's view never writes a file: a real run (MediaPipe and our model) on the simulated camera.

The command runs in a child process whose data dir, working directory, home and temporary directory
(``TMPDIR``) are folders this test lists before and after. Every file the child opens for writing,
creates, renames or links, anywhere (the real /tmp included), is watched at the system-call level with
strace where it runs, else at Python's level with an audit hook. Only ``TMPDIR`` may see a file come and
go (ctypes' library search, run when MediaPipe imports ``sounddevice``, links a probe there and deletes
it); nothing may be left there. A second run with ``--screenshot`` is the control: the same watch sees
that one file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

CHILD = r"""
import atexit, json, os, sys
writes = []
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
def hook(event, args):
    if event == "open":
        path, mode, flags = args
        if isinstance(path, int):
            return
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & WRITE_FLAGS
        )
        if writing:
            writes.append(os.path.abspath(os.fsdecode(path)))
    elif event == "os.mkdir":  # audited before the call: only a folder that is not there yet counts
        if not os.path.lexists(os.fsdecode(args[0])):
            writes.append(os.path.abspath(os.fsdecode(args[0])))
    elif event in ("os.rename", "os.link", "os.symlink", "shutil.copyfile", "shutil.move"):
        writes.append(os.path.abspath(os.fsdecode(args[1])))
sys.addaudithook(hook)
atexit.register(lambda: print("AUDIT " + json.dumps(writes), flush=True))
sys.argv = ["signage", *sys.argv[1:]]
from signage.cli import main
main()
"""

_WRITE_CALL = re.compile(r'^\d+\s+(open|openat|creat)\((?:AT_FDCWD, )?"([^"]*)", ([A-Z_|]+)')
_PATH_CALL = re.compile(
    r"^\d+\s+(mkdir|mkdirat|rename|renameat2?|link|linkat|symlink|symlinkat)\((.*)\)\s+= 0"
)


def _strace_works() -> bool:
    if shutil.which("strace") is None:
        return False
    probe = subprocess.run(["strace", "-f", "-qq", "-o", os.devnull, "true"], capture_output=True, timeout=30)
    return probe.returncode == 0


def _listing(*folders: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                stat = path.stat()
                out[str(path)] = (stat.st_size, stat.st_mtime_ns)
    return out


def _traced_writes(trace: Path, cwd: Path) -> list[str]:
    writes = []
    for line in trace.read_text(errors="replace").splitlines():
        if (m := _WRITE_CALL.match(line)) and re.search(
            r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND", m.group(3)
        ):
            writes.append(os.path.normpath(os.path.join(cwd, m.group(2))))
        elif m := _PATH_CALL.match(line):
            paths = re.findall(r'"([^"]*)"', m.group(2))
            if paths:
                writes.append(os.path.normpath(os.path.join(cwd, paths[-1])))
    return writes


def _run(
    tmp_path: Path, *extra: str
) -> tuple[subprocess.CompletedProcess[str], list[str], dict[str, Any], bool]:
    """Run install-check in a watched child; returns the result, every write outside TMPDIR, the
    files that appeared or changed in the watched folders, and whether strace watched the run."""
    data, cwd, home, tmpdir = (tmp_path / name for name in ("data", "cwd", "home", "tmpdir"))
    for folder in (data, cwd, home, tmpdir):
        folder.mkdir()
    config = cwd / "signage.yaml"
    config.write_text(f"screen_id: install-test\ndata_dir: {data}\ncamera:\n  source: simulated:4\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(
        TMPDIR=str(tmpdir), HOME=str(home), PYTHONDONTWRITEBYTECODE="1", SDL_VIDEODRIVER="dummy",
        SDL_AUDIODRIVER="dummy", XDG_CACHE_HOME=str(home / ".cache"),
    )  # fmt: skip
    # MediaPipe imports matplotlib, which builds a font cache on its first import on a machine; the
    # child gets the warm cache of this one (as any screen has after its first start), not a blank home.
    import matplotlib
    from matplotlib import font_manager  # noqa: F401  (builds the cache here if it is missing)

    env["MPLCONFIGDIR"] = matplotlib.get_cachedir()
    before = _listing(data, cwd, home, tmpdir)
    command = [
        sys.executable,
        "-c",
        CHILD,
        "install-check",
        "--config",
        str(config),
        "--duration",
        "4",
        *extra,
    ]
    trace = tmp_path / "trace.txt"  # written by strace, not by the child
    traced = _strace_works()
    if traced:
        command = [
            "strace", "-f", "-qq", "-e", "status=successful", "-o", str(trace), "-e",
            "trace=open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2,link,linkat,symlink,symlinkat",
            *command,
        ]  # fmt: skip
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    audit = next((line for line in result.stdout.splitlines() if line.startswith("AUDIT ")), None)
    assert audit is not None, result.stdout + result.stderr
    writes = json.loads(audit.removeprefix("AUDIT "))
    if traced:
        writes += _traced_writes(trace, cwd)
    # In TMPDIR (a file in it, or a nameless O_TMPFILE one opened on the folder) or a device: allowed.
    allowed = (str(tmpdir) + os.sep, "/dev/")
    outside = sorted({w for w in writes if not w.startswith(allowed) and w != str(tmpdir)})
    after = _listing(data, cwd, home, tmpdir)
    changed = {path: meta for path, meta in after.items() if before.get(path) != meta}
    return result, outside, changed, traced


def test_the_installer_view_writes_no_file(tmp_path: Path) -> None:
    result, writes, changed, _ = _run(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "frames checked" in result.stdout and "Nothing was recorded" in result.stdout
    assert "Faces are classified up to" in result.stdout
    assert writes == []
    assert changed == {}


def test_the_watch_sees_the_one_screenshot_the_installer_asks_for(tmp_path: Path) -> None:
    result, writes, changed, traced = _run(tmp_path, "--screenshot", "view.png", "--no-attributes")
    assert result.returncode == 0, result.stdout + result.stderr
    shot = str(tmp_path / "cwd" / "view.png")
    # SDL saves it from C: the audit hook alone does not see that write, strace and the listing do.
    assert writes == ([shot] if traced else [])
    assert list(changed) == [shot]
    assert Path(shot).read_bytes().startswith(b"\x89PNG")
