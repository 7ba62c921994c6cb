"""Shared fixtures: a tiny randomly initialised BERT (no download) and a small CoNLL corpus."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/ helpers (modes_driver, tiny)

# The slow tests (browser, notebooks, the served door, distributed): three quarters of the suite's time.
# `pytest -m "not slow"` runs the rest (the developer's loop, scripts/check_latest.sh); CI runs everything.
SLOW_MODULES = {"test_notebooks.py", "test_notebooks_browser.py", "test_dashboard_browser.py",
                "test_dashboard_ui_browser.py", "test_dashboard_sweeps_browser.py", "test_dashboard_door.py",
                "test_distributed.py", "test_strategies_distributed.py", "test_report_browser.py"}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> str:
    from tiny import make_tiny_model_dir

    return make_tiny_model_dir(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def conll_dir(tmp_path_factory) -> str:
    from tiny import write_conll_corpus

    return write_conll_corpus(tmp_path_factory.mktemp("conll"))


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    path = SHARED / "datasets"
    if not path.exists():
        pytest.skip("../shared/datasets is not beside the repository")
    return path
