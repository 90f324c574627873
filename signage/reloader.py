"""Keep the last good file: the one hot-reload mechanism, for the ad catalog and the rule tables.

A ``Reloader`` holds the value built from some files (a ``Catalog``, a ``RuleSet``) and rebuilds
it when any of them changes: the files a person edits, and the files the value itself names (the
catalog's media, so a repaired or replaced video is noticed without touching ``catalog.yaml``).
A rebuild that fails, for *any* reason, keeps the last good value in force and is reported once
per distinct problem; restoring a file to its last good content clears the error. Its status is
what the heartbeat and the dashboard show.

Rebuilding reads YAML and probes media, which may take long, so one ``ReloadThread`` runs every
reloader off the display thread; the loop only reads ``current()``, an atomic reference.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from signage.yamlconf import ConfigError

log = logging.getLogger(__name__)

T = TypeVar("T")
Stamp = tuple[int, int, int] | None  # (mtime_ns, size, inode); None while the file is missing


@dataclass(frozen=True)
class ReloadStatus:
    """Whether the value in force is what the files on disk say, and if not, why (one sentence)."""

    name: str
    valid: bool
    error: str  # FILE:LINE:COLUMN: message; empty when valid
    version: int  # increases with every value swapped in (0: none loaded yet)
    loaded_at_mono: float | None = None  # when the value in force was built
    checked_at_mono: float | None = None


def stamp_of(path: Path) -> Stamp:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _digest(files: Sequence[Path], stamps: Iterable[tuple[Path, Stamp]]) -> str:
    """What the value depends on: the edited files' content, and the stamps of the files it names."""
    h = hashlib.sha256()
    for path in files:
        h.update(str(path).encode() + b"\0")
        try:
            h.update(path.read_bytes())
        except OSError as exc:
            h.update(f"unreadable: {exc.strerror}".encode())
        h.update(b"\0")
    for path, stamp in stamps:
        h.update(f"{path}\0{stamp}\0".encode())
    return h.hexdigest()


def describe_failure(exc: BaseException, files: Sequence[Path]) -> str:
    """One sentence for a failed rebuild: the first located finding, or the exception, at the first file."""
    if isinstance(exc, ConfigError) and exc.findings:
        first = exc.findings[0]
        more = f" (and {len(exc.findings) - 1} more)" if len(exc.findings) > 1 else ""
        return f"{first.file}:{first.line}:{first.column}: {first.message}{more}"
    where = f"{files[0]}: " if files else ""
    return f"{where}cannot be loaded ({type(exc).__name__}: {exc})"


class Reloader(Generic[T]):
    """The last good value built by ``load`` from ``files`` (and the files ``names`` of it)."""

    def __init__(
        self,
        name: str,
        files: Sequence[Path],
        load: Callable[[], T],
        *,
        empty: T,
        names: Callable[[T], Iterable[Path]] = lambda _value: (),
        clock: Callable[[], float],
        describe: Callable[[T], str] = lambda _value: "",
    ) -> None:
        self.name = name
        self.files = tuple(files)
        self._load = load
        self._names = names
        self._clock = clock
        self._describe = describe
        self._value = empty
        self._stamps: tuple[tuple[Path, Stamp], ...] | None = None
        self._good_digest: str | None = None
        self._reported: str | None = None
        self._status = ReloadStatus(name, False, f"{name} not loaded yet", 0)

    def current(self) -> T:
        return self._value

    @property
    def status(self) -> ReloadStatus:
        return self._status

    @property
    def version(self) -> int:
        return self._status.version

    def _watched(self) -> tuple[tuple[Path, Stamp], ...]:
        named = sorted({Path(p) for p in self._names(self._value)} - set(self.files))
        return tuple((p, stamp_of(p)) for p in (*self.files, *named))

    def check(self) -> bool:
        """Rebuild if a watched file changed; True when a new value was swapped in. Never raises."""
        now = self._clock()
        stamps = self._watched()
        if stamps == self._stamps:
            self._status = replace(self._status, checked_at_mono=now)
            return False
        self._stamps = stamps
        digest = _digest(self.files, stamps[len(self.files) :])
        if digest == self._good_digest:  # touched, or restored to the content in force
            self._recovered(now)
            return False
        try:
            value = self._load()
        except Exception as exc:  # any failure in user data keeps the last good value
            self._failed(exc, now)
            return False
        self._value, self._reported = value, None
        # The value may name other files than the last one did: stamp them now.
        self._stamps = self._watched()
        self._good_digest = _digest(self.files, self._stamps[len(self.files) :])
        self._status = ReloadStatus(self.name, True, "", self._status.version + 1, now, now)
        note = self._describe(value)
        log.info("%s loaded%s", self.name, f": {note}" if note else "")
        return True

    def _recovered(self, now: float) -> None:
        if not self._status.valid:
            log.info("%s files are back to the version in force; its error is cleared", self.name)
        self._reported = None
        self._status = replace(self._status, valid=True, error="", checked_at_mono=now)

    def _failed(self, exc: Exception, now: float) -> None:
        error = describe_failure(exc, self.files)
        if error != self._reported:  # each distinct problem once, not at every check
            self._reported = error
            kept = (
                f"the last good {self.name} stays in force"
                if self._status.version
                else f"no {self.name} in force"
            )
            log.error("%s change not applied, %s: %s", self.name, kept, error)
            if not isinstance(exc, ConfigError):
                log.debug("%s load failure", self.name, exc_info=exc)
        self._status = replace(self._status, valid=False, error=error, checked_at_mono=now)


class Checkable(Protocol):
    @property
    def name(self) -> str: ...

    def check(self) -> bool: ...


class ReloadThread:
    """Runs ``check`` on each reloader every ``every_s`` seconds until ``stop`` is set."""

    def __init__(self, reloaders: Sequence[Checkable], stop: threading.Event, every_s: float = 1.0) -> None:
        self.reloaders = tuple(reloaders)
        self._stop = stop
        self._every_s = every_s
        self._thread = threading.Thread(target=self._run, name="reloader", daemon=True)
        self._broken: set[str] = set()

    def start(self) -> None:
        self._thread.start()

    def check_all(self) -> None:
        for reloader in self.reloaders:
            try:
                reloader.check()
                self._broken.discard(reloader.name)
            except Exception:  # check() never raises by contract; the thread must outlive a broken one
                if reloader.name not in self._broken:
                    self._broken.add(reloader.name)
                    log.exception("checking the %s for changes failed; will retry", reloader.name)

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            self.check_all()

    def join(self, timeout: float | None = None) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)
