"""The uplink tests' fixture: a real central server (see uplink_helpers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from uplink_helpers import Central, running_central


@pytest.fixture
def central(pg_url: str, tmp_path: Path) -> Iterator[Central]:
    with running_central(pg_url, tmp_path) as server:
        yield server
