"""Shared fixtures: a tiny randomly initialised BERT (no download) and a small CoNLL corpus."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/ helpers (modes_driver, tiny)


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
