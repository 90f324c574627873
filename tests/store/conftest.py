from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from signage.domain import Play, PlayOutcome
from signage.store.pgschema import DEFAULT_TEST_URL, temporary_schema, unreachable_reason

T0 = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)


def make_play(
    i: int = 0,
    *,
    screen_id: str = "screen-1",
    ended: bool = True,
    start: datetime = T0,
    play_id: str | None = None,
) -> Play:
    started = start + timedelta(seconds=10 * i)
    return Play(
        play_id=play_id or str(uuid.uuid4()),
        screen_id=screen_id,
        ad_id=f"ad-{i % 5}",
        advertiser=f"adv-{i % 2}",
        campaign=f"camp-{i % 3}",
        started_at=started,
        ended_at=started + timedelta(seconds=8) if ended else None,
        planned_s=8.0,
        actual_s=8.0 if ended else 0.0,
        outcome=PlayOutcome.COMPLETED if ended else None,
        reason="",
        rule="house",
        audience_known=i % 2 == 0,
        present_at_start=i % 4,
        watching_at_start=i % 3,
    )


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL into a fresh schema on the test PostgreSQL server, dropped afterwards."""
    if os.environ.get("SIGNAGE_SKIP_POSTGRES") == "1":
        pytest.skip("SIGNAGE_SKIP_POSTGRES=1")
    url = os.environ.get("SIGNAGE_TEST_POSTGRES_URL", DEFAULT_TEST_URL)
    reason = unreachable_reason(url)
    if reason:
        pytest.fail(
            f"{reason}; start it, set SIGNAGE_TEST_POSTGRES_URL, or set SIGNAGE_SKIP_POSTGRES=1",
            pytrace=False,
        )
    with temporary_schema(url, prefix="test_store") as schema_url:
        yield schema_url
