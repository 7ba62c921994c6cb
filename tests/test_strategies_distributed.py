"""Two CPU processes (gloo), one torchrun launch for every strategy: after 8 optimizer steps both
ranks hold bit-identical weights (a SHA-256 checksum per rank), and dps-dense selects identical
masks at every selection. A strategy whose random draws depend on the rank (e.g. on whether it
reports telemetry) fails here."""

import pytest
import torch
from distributed_runs import run_two_processes

from adaft_core.store.runs import read_events
from adaft_core.strategies.masks import load_masks

STRATEGIES = ("vanilla", "dps-dense", "dps-mix", "childtuning-d", "childtuning-f")


@pytest.fixture(scope="module")
def two_ranks(tiny_model_dir, conll_dir, tmp_path_factory):
    """(runs folder, reports folder, rank 0's report, rank 1's report) of one torchrun launch."""
    return run_two_processes("dist_strategy_worker.py", tiny_model_dir, conll_dir,
                             tmp_path_factory.mktemp("dist-strategies"))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_two_process_weights_identical_on_both_ranks(two_ranks, strategy):
    _, _, r0, r1 = two_ranks
    a, b = r0[strategy], r1[strategy]
    assert a["status"] == b["status"] == "completed" and a["steps"] == b["steps"] == 8
    assert a["checksum"] == b["checksum"], f"{strategy}: the model copies drifted apart across ranks"
    assert a["selections"] == b["selections"]
    assert a["run_dir"] is not None and b["run_dir"] is None  # only rank 0 writes


def test_two_process_dps_dense_identical_masks(two_ranks):
    out, reports, r0, r1 = two_ranks
    assert r0["dps-dense"]["selections"] == r1["dps-dense"]["selections"] == 4  # S = 1: steps 2, 4, 6, 8
    for step in (2, 4, 6, 8):
        a = load_masks(reports / f"rank0-step{step}.safetensors").masks
        b = load_masks(reports / f"rank1-step{step}.safetensors").masks
        assert set(a) == set(b) and a
        assert all(torch.equal(a[name], b[name]) for name in a), f"masks differ at step {step}"
    # only rank 0 wrote the run log and the mask file, and its log holds the mask events
    (run_dir,) = [p for p in (out / "dps-dense").iterdir() if p.is_dir()]
    assert (run_dir / "masks" / "latest.safetensors").exists()
    assert [e["step"] for e in read_events(run_dir) if e["event"] == "mask"] == [2, 4, 6, 8]
