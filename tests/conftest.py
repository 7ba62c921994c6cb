"""Shared fixtures: a tiny randomly initialised BERT (no download), a small CoNLL corpus, and one
headless Chromium for the browser tests; the ``slow`` mark and the browser tests' place in the run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# One torch thread in the test process and in the runs, servers and kernels it starts (they inherit
# it), unless OMP_NUM_THREADS says otherwise: the tiny models gain nothing from a second thread, and
# on a busy 2-core machine two spinning OpenMP threads per process made a 6-epoch tiny run take
# 50-95 s instead of 2.4 s.
os.environ.setdefault("OMP_NUM_THREADS", "1")
if "torch" in sys.modules:  # imported before this file (a plugin): the variable came too late
    sys.modules["torch"].set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/ helpers (modes_driver, tiny)
sys.path.insert(0, str(REPO / "scripts"))  # served_page: the served dashboard the tests and scripts share

# The slow tests (browser, notebooks, the served door, distributed): three quarters of the suite's time.
# `pytest -m "not slow"` runs the rest (the developer's loop, scripts/check_latest.sh); CI runs everything.
# A test elsewhere that loads the real 6-layer MiniLM would carry @pytest.mark.slow itself (none does
# today: the fast tests build tiny models from configs; the demo preset trains MiniLM cut to 2 layers).
BROWSER_MODULES = {"test_notebooks_browser.py", "test_dashboard_browser.py", "test_dashboard_ui_browser.py",
                   "test_dashboard_sweeps_browser.py", "test_report_browser.py"}
SLOW_MODULES = BROWSER_MODULES | {"test_notebooks.py", "test_dashboard_door.py", "test_distributed.py",
                                  "test_strategies_distributed.py"}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
    # the browser tests last, in one Chromium: while Playwright's sync API is open, its event loop
    # runs in this thread and asyncio.run() (the door test, nbclient) would refuse to start
    items.sort(key=lambda item: item.path.name in BROWSER_MODULES)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium (Playwright) for every browser test of the session."""
    pytest.importorskip("playwright.sync_api")
    from browser_kit import CHROMIUM, launch

    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (scripts/install.sh --test installs it)")
    with launch() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    """``adaft dashboard`` served on an empty runs folder for one test module: (its URL, the runs folder).
    The runs its page launches share the session's cache of built models and never reach the Hub."""
    from browser_kit import served_dashboard

    pytest.importorskip("voila")
    tmp = tmp_path_factory.mktemp("dashboard")
    env = {"ADAFT_CACHE_DIR": str(tmp_path_factory.getbasetemp() / "adaft-cache"), "HF_HUB_OFFLINE": "1"}
    with served_dashboard(tmp, tmp / "runs", env=env) as url:
        yield url, tmp / "runs"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> str:
    from tiny import make_tiny_model_dir

    return make_tiny_model_dir(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def conll_dir(tmp_path_factory) -> str:
    from tiny import write_conll_corpus

    return write_conll_corpus(tmp_path_factory.mktemp("conll"))


@pytest.fixture(scope="session")
def pair_dir(tmp_path_factory) -> str:
    """NLI pairs (``pair_corpus.write_pair_corpus``): 48 training pairs, 4 steps of 12 per epoch as the CoNLL corpus."""
    from pair_corpus import write_pair_corpus

    folder = tmp_path_factory.mktemp("pairs") / "nli"  # the corpus writes a two-way file beside its folder
    folder.mkdir()
    write_pair_corpus(folder)
    return str(folder)


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    path = SHARED / "datasets"
    if not path.exists():
        pytest.skip("../shared/datasets is not beside the repository")
    return path
