"""A quiet console: the native libraries' own log lines never reach it.

MediaPipe's C++ logs through absl (``W0000 00:00:... inference_feedback_manager.cc:114] ...``) and
TFLite prints ``INFO: Created TensorFlow Lite XNNPACK delegate``; neither reads
``GLOG_minloglevel`` or ``TF_CPP_MIN_LOG_LEVEL`` in mediapipe 0.10.21 (measured: the lines still
come), so besides setting those variables, ``quiet_console`` puts a filter on file descriptor 2:
native writes go through a pipe and a thread that forwards every line except the native library
noise (info and warning lines; errors and fatal lines pass). Python's own ``sys.stderr`` (logging,
tracebacks) and ``faulthandler``'s crash dumps write to the real stderr directly, so nothing of
ours depends on that thread.
"""

from __future__ import annotations

import contextlib
import faulthandler
import io
import logging
import os
import re
import sys
import threading

# Before the libraries load: MediaPipe/TFLite/glog read these at start-up where they read any.
NATIVE_LOG_ENV = {
    "GLOG_minloglevel": "2",  # glog: errors and fatal only
    "TF_CPP_MIN_LOG_LEVEL": "3",  # TensorFlow / TFLite C++: nothing below fatal
    "ABSL_MIN_LOG_LEVEL": "2",
    "PYGAME_HIDE_SUPPORT_PROMPT": "1",  # pygame's "Hello from the pygame community"
}
# Python loggers of libraries whose INFO lines say nothing to a store (alembic: "Context impl
# SQLiteImpl."; websockets: "server listening on 127.0.0.1:8765", "server closing", "server closed",
# which the feed's own line already says). Their warnings and errors still pass.
QUIET_LOGGERS = {"absl": logging.ERROR, "alembic": logging.WARNING, "websockets": logging.WARNING}

_NATIVE = re.compile(
    rb"^(?:[IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.+-]+:\d+\] "  # absl / glog info and warning
    rb"|INFO: "  # TFLite's minimal logger
    rb"|Warning: using insecure memory!"  # libgcrypt (through VLC) when mlock is refused: harmless
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR)"
)


def set_native_log_env(environ: dict[str, str] | None = None) -> None:
    env = os.environ if environ is None else environ
    for name, value in NATIVE_LOG_ENV.items():
        env.setdefault(name, value)
    for name, level in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(level)


def is_native_noise(line: bytes) -> bool:
    return _NATIVE.match(line) is not None


class StderrFilter:
    """Native writes to ``fd`` pass through a pipe; lines ``is_native_noise`` calls noise are dropped."""

    def __init__(self, fd: int = 2) -> None:
        self.fd = fd
        self.dropped = 0
        self._real: int | None = None
        self._thread: threading.Thread | None = None

    @property
    def real_fd(self) -> int:
        """Where the filtered lines go: the original ``fd``."""
        assert self._real is not None, "not installed"
        return self._real

    def install(self) -> StderrFilter:
        self._real = os.dup(self.fd)
        read_end, write_end = os.pipe()
        os.dup2(write_end, self.fd)
        os.close(write_end)
        self._thread = threading.Thread(
            target=self._forward, args=(read_end,), name="stderr-filter", daemon=True
        )
        self._thread.start()
        return self

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                written = os.write(self.real_fd, view)
            except OSError:
                return  # the terminal went away: nothing to tell it
            view = view[written:]

    def _forward(self, read_end: int) -> None:
        pending = b""
        with contextlib.closing(io.FileIO(read_end, "r")) as pipe:
            while chunk := pipe.read(65536):
                *lines, pending = (pending + chunk).split(b"\n")
                kept = [line for line in lines if not is_native_noise(line)]
                self.dropped += len(lines) - len(kept)
                if kept:
                    self._write(b"".join(line + b"\n" for line in kept))
        if pending and not is_native_noise(pending):
            self._write(pending)

    def restore(self, timeout_s: float = 1.0) -> None:
        """Give ``fd`` back its original file; the thread forwards what is left and ends.

        The duplicate of the original stays open (``real_fd``): writers that hold it keep working."""
        if self._thread is None:
            return
        os.dup2(self.real_fd, self.fd)  # closes the pipe's last write end: the thread sees the end
        self._thread.join(timeout_s)
        self._thread = None

    def close(self) -> None:
        self.restore()
        if self._real is not None:
            os.close(self._real)
            self._real = None


def quiet_console() -> StderrFilter | None:
    """For the ``signage`` command: native log variables set, fd 2 filtered, Python's stderr direct.

    Returns the filter (None when stderr cannot be filtered, e.g. it is closed); it is removed at exit.
    """
    set_native_log_env()
    try:
        sys.stderr.flush()
        stderr_filter = StderrFilter(2).install()
    except (OSError, ValueError, AttributeError):
        return None
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    direct = io.TextIOWrapper(
        io.FileIO(stderr_filter.real_fd, "w", closefd=False),
        encoding=encoding,
        errors="backslashreplace",
        line_buffering=True,
    )
    sys.stderr = direct
    faulthandler.enable(file=direct)  # a crash's Python stacks reach the journal

    def restore() -> None:
        direct.flush()
        stderr_filter.restore()

    import atexit

    atexit.register(restore)
    return stderr_filter
