"""Waiting in tests for another thread or process (a broker round trip, a stage's thread) to get somewhere.

A timeout bounds the wait so a broken test fails instead of hanging; it asserts nothing about how long
the work took (tests never assert wall time).
"""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(predicate: Callable[[], bool], timeout_s: float = 10.0, poll_s: float = 0.01) -> bool:
    """Poll ``predicate`` until it holds (True) or ``timeout_s`` of real time has passed (False)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll_s)
    return True


def wait_until(predicate: Callable[[], bool], timeout_s: float = 5.0, poll_s: float = 0.002) -> None:
    """``wait_for`` that fails the test (AssertionError) when ``predicate`` never holds."""
    if not wait_for(predicate, timeout_s, poll_s):
        raise AssertionError("condition not reached in time")
