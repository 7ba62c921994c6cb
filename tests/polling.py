"""A bounded wait for something another process writes (a run log, a run folder)."""

from __future__ import annotations

import time


def wait_for(predicate, timeout: float, what: str):
    """``predicate()``'s first truthy value, polled every 50 ms; an AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
