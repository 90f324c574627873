"""The blob store: every file of every release and alert, once, named by its sha256.

A blob lives at ``<blob_dir>/<sha[:2]>/<sha>``. It is written under a temporary name beside its
final place, flushed to disk and renamed, so a reader (the HTTP API) never sees half a file and a
crash leaves at most a ``.part`` file behind. Blobs are never changed once written.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from signage.fleet.protocol import check_sha256

CHUNK = 1 << 20


def sha256_file(path: Path) -> tuple[str, int]:
    """The file's sha256 (lowercase hex) and size in bytes."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    copied: bool  # False: the store already had it


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        sha = check_sha256(sha256)
        return self.root / sha[:2] / sha

    def has(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def put_file(self, source: Path) -> StoredBlob:
        """Copy ``source`` in unless a blob of the same content is already there."""
        sha, size = sha256_file(source)
        if self.has(sha):
            return StoredBlob(sha, size, copied=False)
        self.put_bytes_from(source, sha)
        return StoredBlob(sha, size, copied=True)

    def put_bytes_from(self, source: Path, sha256: str) -> None:
        dest = self.path_for(sha256)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out, source.open("rb") as src:
                for chunk in iter(lambda: src.read(CHUNK), b""):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != sha256:
                raise OSError(f"{source} changed while it was being copied; publish again")
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(dest.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
