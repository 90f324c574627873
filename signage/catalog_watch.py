"""Hot reload of the ad catalog: ``signage ads add`` or a hand edit reaches a running player.

Reloading probes every media file, which takes too long for the display thread, so a watcher
thread does it and swaps the new catalog in whole; the loop only reads the reference. A file
that no longer validates keeps the last good catalog in force and is reported once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from signage.catalog import load_catalog
from signage.domain import Catalog
from signage.yamlconf import ConfigError

log = logging.getLogger(__name__)

Stamp = tuple[int, int] | None  # (mtime_ns, size); None while the file is missing


def stamp_of(path: Path) -> Stamp:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


class CatalogWatcher:
    def __init__(
        self,
        path: Path,
        initial: Catalog,
        stop: threading.Event,
        *,
        default_image_s: float,
        check_every_s: float = 2.0,
        load: Callable[[Path, float], Catalog] | None = None,
    ) -> None:
        self.path = path
        self._catalog = initial
        self._stop = stop
        self._default_image_s = default_image_s
        self._check_every_s = check_every_s
        self._load = load or (lambda p, image_s: load_catalog(p, default_image_s=image_s))
        self._stamp = stamp_of(path)
        self._reported: str | None = None
        self.version = 0  # increases with every catalog swapped in
        self._thread: threading.Thread | None = None

    def current(self) -> Catalog:
        return self._catalog

    def check(self) -> bool:
        """Reload if the file changed; True when a new catalog was swapped in."""
        stamp = stamp_of(self.path)
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            catalog = self._load(self.path, self._default_image_s)
        except ConfigError as exc:
            message = str(exc.findings[0]) if exc.findings else str(exc)
            if message != self._reported:
                self._reported = message
                log.error("catalog change not applied, the last good catalog stays in force: %s", message)
            return False
        self._reported = None
        self._catalog = catalog
        self.version += 1
        log.info("catalog reloaded: %d playable ad(s), %d left out", len(catalog.ads), len(catalog.skipped))
        return True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="catalog-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._check_every_s):
            self.check()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
