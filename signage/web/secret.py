"""The dashboard's secret key: made once, written atomically, refused when too short.

The key signs the login form's CSRF cookie and derives each session's CSRF token (sessions themselves
live in the database, see sessions.py).

* A missing file is created whole or not at all: the key goes to a temporary file in the same folder
  (mode 0600), is flushed and fsynced, and is then linked into place (``os.link`` never replaces a
  file another process made at the same moment; where hard links are not supported, ``os.replace``).
  A crash, a full disk or ``ulimit -f`` can no longer leave an empty key file behind.
* A key file under 32 bytes is **refused, not replaced**: start-up stops with one sentence saying
  which file and what to do. Silently making a new key would hide whoever wrote a weak one (or a
  damaged disk), and an operator who knows deletes the file in a second. Any file older than this
  code may be the 0-byte leftover of a crashed first start: deleting it is the fix, and the message
  says so.
* A key readable by the group or others is used, with a warning saying how to fix the mode.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

MIN_SECRET_BYTES = 32
_NEW_SECRET_BYTES = 48  # 64 characters of URL-safe base64


class SecretError(RuntimeError):
    """The key file cannot be used; the message is one sentence with the fix."""


def load_or_create_secret(path: Path) -> str:
    """The key stored in ``path``, created first if the file does not exist."""
    if not path.exists():
        try:
            _create(path)
        except OSError as exc:
            raise SecretError(f"cannot create the dashboard secret {path}: {exc.strerror or exc}") from exc
    try:
        mode = path.stat().st_mode
        data = path.read_bytes().strip()
    except OSError as exc:
        raise SecretError(f"cannot read the dashboard secret {path}: {exc.strerror or exc}") from exc
    if len(data) < MIN_SECRET_BYTES:
        raise SecretError(
            f"the dashboard secret {path} holds {len(data)} bytes, fewer than the {MIN_SECRET_BYTES} "
            "needed (a first start that failed half-way leaves an empty file): delete it and start "
            "again to have a new one made"
        )
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning(
            "the dashboard secret %s can be read by other accounts (mode %o): run chmod 600 on it",
            path,
            stat.S_IMODE(mode),
        )
    try:
        return data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise SecretError(
            f"the dashboard secret {path} is not text: delete it and start again to have a new one made"
        ) from exc


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, 0o600)  # mkstemp's default, said out loud
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_urlsafe(_NEW_SECRET_BYTES).encode("ascii"))
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return  # another process made it first: use theirs
        except OSError:
            os.replace(tmp, path)  # a file system without hard links
        _fsync_dir(path.parent)
        log.info("dashboard secret created in %s", path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _fsync_dir(folder: Path) -> None:
    """Make the new directory entry durable too (not possible on every platform)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
