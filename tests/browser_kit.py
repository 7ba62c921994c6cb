"""What the browser tests share: where Chromium is and how it is launched, where screenshots go,
the skip mark when there is no Chromium, and a served dashboard for the length of a test."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import pytest
from dashboard_server import start_dashboard, stop_dashboard

CHROMIUM = os.environ.get("ADAFT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                    reason=f"no Chromium at {CHROMIUM} (scripts/install.sh --test installs it)")


@contextmanager
def served_dashboard(tmp_path: Path, runs: Path, *args: str, env: dict | None = None):
    """``adaft dashboard --runs RUNS ARGS`` running in ``tmp_path`` while the block runs; yields its URL."""
    proc, port, log = start_dashboard(tmp_path, runs, *args, env=env)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop_dashboard(proc, log)
