"""The dashboard secret: whole or absent after a failed first start, refused when short, private."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from signage.settings import Settings
from signage.web.secret import MIN_SECRET_BYTES, SecretError, load_or_create_secret
from signage.web.server import secret_path

_CREATE_UNDER_NO_FILE_SIZE = """
import resource, sys
from pathlib import Path
from signage.web.secret import SecretError, load_or_create_secret
resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
try:
    load_or_create_secret(Path(sys.argv[1]))
except SecretError as exc:
    print(exc)
    sys.exit(3)
"""


def test_a_first_start_that_cannot_write_leaves_no_key_file_and_the_next_start_makes_a_good_one(
    tmp_path: Path,
) -> None:
    key = tmp_path / "data" / "web-secret.key"
    # `ulimit -f 0`: every write fails (EFBIG; Python ignores SIGXFSZ), as on a full disk.
    done = subprocess.run(
        [sys.executable, "-c", _CREATE_UNDER_NO_FILE_SIZE, str(key)], capture_output=True, text=True
    )
    assert done.returncode == 3, done.stderr
    assert "cannot create the dashboard secret" in done.stdout
    assert not key.exists()
    assert [p.name for p in key.parent.iterdir()] == []  # no temporary file left either
    secret = load_or_create_secret(key)
    assert len(secret) >= MIN_SECRET_BYTES
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert load_or_create_secret(key) == secret  # made once, then read


@pytest.mark.parametrize("content", [b"", b"\n", b"short-key"])
def test_an_empty_or_short_key_file_is_refused_with_the_fix(tmp_path: Path, content: bytes) -> None:
    key = tmp_path / "web-secret.key"
    key.write_bytes(content)
    key.chmod(0o600)
    with pytest.raises(SecretError, match=r"fewer than the 32 needed .*delete it"):
        load_or_create_secret(key)
    assert key.read_bytes() == content  # refused, not silently replaced


def test_a_key_readable_by_others_is_used_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = tmp_path / "web-secret.key"
    key.write_text("k" * 40)
    key.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="signage.web.secret"):
        assert load_or_create_secret(key) == "k" * 40
    assert "chmod 600" in caplog.text and str(key) in caplog.text
    caplog.clear()
    key.chmod(0o600)
    with caplog.at_level(logging.WARNING, logger="signage.web.secret"):
        load_or_create_secret(key)
    assert caplog.text == ""


def test_the_key_is_created_private_even_under_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        key = tmp_path / "web-secret.key"
        load_or_create_secret(key)
    finally:
        os.umask(old)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_the_key_lives_under_the_data_folder_unless_absolute(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert secret_path(settings) == tmp_path / "web-secret.key"
    absolute = tmp_path / "elsewhere.key"
    moved = settings.model_copy(update={"web": settings.web.model_copy(update={"secret_file": absolute})})
    assert secret_path(moved) == absolute
