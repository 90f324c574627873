"""Generated proof-of-play records for tests and benchmarks (deterministic for a given index)."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

from signage.domain import Play, PlayOutcome
from signage.testing.pgschema import DEFAULT_TEST_URL, unreachable_reason

T0 = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)


def sample_play(
    i: int = 0,
    *,
    screen_id: str = "screen-1",
    ended: bool = True,
    start: datetime = T0,
    play_id: str | None = None,
) -> Play:
    """The ``i``-th play of a screen showing 8-second ads back to back (10 s slots) from ``start``."""
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


def postgres_test_url() -> tuple[str | None, str]:
    """(URL, "") of the test PostgreSQL server; (None, why) when skipped or unreachable.

    Reads SIGNAGE_TEST_POSTGRES_URL (default: the local trust-auth server, database ``test``);
    SIGNAGE_SKIP_POSTGRES=1 skips on purpose, which callers report differently from a dead server.
    """
    if os.environ.get("SIGNAGE_SKIP_POSTGRES") == "1":
        return None, "SIGNAGE_SKIP_POSTGRES=1"
    url = os.environ.get("SIGNAGE_TEST_POSTGRES_URL", DEFAULT_TEST_URL)
    reason = unreachable_reason(url)
    if reason:
        return None, f"{reason}; start it, set SIGNAGE_TEST_POSTGRES_URL, or set SIGNAGE_SKIP_POSTGRES=1"
    return url, ""
