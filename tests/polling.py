"""A bounded wait for something another process writes (a run log, a run folder)."""

from __future__ import annotations

import time


def wait_for(predicate, timeout: float, what: str, every: float = 0.05):
    """``predicate()``'s first truthy value, polled every ``every`` s; an AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
